package ssh_test

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
	"golang.org/x/crypto/ssh"
)

// streamNode answers "emit N": it reads one line from stdin, writes that
// line and then N bytes to stdout, and exits 0; "count" answers how many
// bytes followed the line on stdin until EOF; "fail" exits 3 after a word
// on stderr. It reports on closed when a session's stdin reached EOF.
func streamNode(t *testing.T, clientKey ssh.PublicKey, closed chan<- string) int {
	t.Helper()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	hostKey, _ := ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
		if string(k.Marshal()) == string(clientKey.Marshal()) {
			return nil, nil
		}
		return nil, net.ErrClosed
	}}
	cfg.AddHostKey(hostKey)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	exit := func(ch ssh.Channel, code uint32) {
		status := make([]byte, 4)
		binary.BigEndian.PutUint32(status, code)
		ch.SendRequest("exit-status", false, status)
		ch.Close()
	}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				_, chans, reqs, err := ssh.NewServerConn(conn, cfg)
				if err != nil {
					return
				}
				go ssh.DiscardRequests(reqs)
				for nc := range chans {
					ch, creqs, _ := nc.Accept()
					go func() {
						for r := range creqs {
							if r.Type != "exec" {
								r.Reply(false, nil)
								continue
							}
							r.Reply(true, nil)
							cmd := string(r.Payload[4:])
							in := bufio.NewReader(ch)
							line, _ := in.ReadString('\n')
							if cmd == "count" {
								// Raw input after the request: its length is the answer.
								n, _ := io.Copy(io.Discard, in)
								io.WriteString(ch, strconv.FormatInt(n, 10)+"\n")
								exit(ch, 0)
								return
							}
							if cmd == "fail" {
								io.WriteString(ch.Stderr(), "refused")
								exit(ch, 3)
								return
							}
							n, _ := strconv.Atoi(strings.TrimPrefix(cmd, "emit "))
							io.WriteString(ch, line)
							if _, err := ch.Write(make([]byte, n)); err != nil {
								return
							}
							go func() {
								io.Copy(io.Discard, in)
								closed <- cmd
							}()
							exit(ch, 0)
							return
						}
					}()
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestPool_Open(t *testing.T) {
	t.Parallel()
	p, pub, _ := newPool(t)
	closed := make(chan string, 10)
	n := &pressluft.Node{ID: "n1", Host: "127.0.0.1", SSHPort: streamNode(t, pub, closed), SSHUser: "root"}
	ctx := context.Background()

	pipe, err := p.Open(ctx, n, "emit 3000000", []byte("{\"op\":\"backup_read\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(pipe)
	line, err := r.ReadString('\n')
	if err != nil || line != "{\"op\":\"backup_read\"}\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || len(rest) != 3000000 {
		t.Fatalf("read %d bytes, %v", len(rest), err)
	}
	res, err := pipe.Wait()
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v", res, err)
	}
	pipe.Close()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the remote side never saw stdin close")
	}

	pipe, err = p.Open(ctx, n, "fail", []byte("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(pipe); len(b) != 0 {
		t.Errorf("fail wrote %q", b)
	}
	res, err = pipe.Wait()
	if err != nil || res.ExitCode != 3 || string(res.Stderr) != "refused" {
		t.Fatalf("fail: %+v, %v", res, err)
	}
	pipe.Close()

	// Closing before the end stops the session; the connection stays usable.
	pipe, err = p.Open(ctx, n, "emit 50000000", []byte("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(pipe, make([]byte, 1000))
	if err := pipe.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	pipe, err = p.Open(cctx, n, "emit 50000000", []byte("x\n"))
	if err != nil {
		t.Fatalf("Open after a close: %v", err)
	}
	io.ReadFull(pipe, make([]byte, 1000))
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, pipe)
		done <- err
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a cancelled context did not end the read")
	}
	pipe.Close()
}

func TestPipe_Send(t *testing.T) {
	t.Parallel()
	p, pub, _ := newPool(t)
	n := &pressluft.Node{ID: "n1", Host: "127.0.0.1", SSHPort: streamNode(t, pub, make(chan string, 10)), SSHUser: "root"}
	pipe, err := p.Open(context.Background(), n, "count", []byte("{\"op\":\"archive_receive\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	const size = 20 << 20
	sent, err := pipe.Send(io.LimitReader(zeros{}, size))
	if err != nil || sent != size {
		t.Fatalf("Send = %d, %v", sent, err)
	}
	answer, err := io.ReadAll(pipe)
	if err != nil || strings.TrimSpace(string(answer)) != strconv.Itoa(size) {
		t.Fatalf("the remote side counted %q (%v), want %d", answer, err, size)
	}
	if res, err := pipe.Wait(); err != nil || res.ExitCode != 0 {
		t.Fatalf("Wait = %+v, %v", res, err)
	}

	// A source that fails is told apart from the remote side.
	pipe, err = p.Open(context.Background(), n, "count", []byte("x\n"))
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	broken := io.MultiReader(strings.NewReader("abc"), iotestErr{})
	if sent, err := pipe.Send(broken); sent != 3 || err != errBroken {
		t.Fatalf("Send from a broken source = %d, %v", sent, err)
	}
	if answer, _ := io.ReadAll(pipe); strings.TrimSpace(string(answer)) != "3" {
		t.Fatalf("after a broken source the remote side counted %q", answer)
	}
}

type zeros struct{}

func (zeros) Read(b []byte) (int, error) { clear(b); return len(b), nil }

var errBroken = errors.New("client went away")

type iotestErr struct{}

func (iotestErr) Read([]byte) (int, error) { return 0, errBroken }
