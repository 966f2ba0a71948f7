package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"

	"github.com/pressluft/pressluft"
	"github.com/pressluft/pressluft/agent/protocol"
)

// Client puts uploaded archives on nodes.
var _ pressluft.UploadOps = (*Client)(nil)

// ReceiveUpload streams body into the environment's tmp/ through
// archive_receive. The agent checks the request and answers "ready"
// before a byte of body is sent, so a refusal costs no transfer and a
// node without the agent gets it installed with the body still unread.
func (c *Client) ReceiveUpload(ctx context.Context, n *pressluft.Node, envName, id string, size, max int64, body io.Reader) (*pressluft.ArchiveUpload, error) {
	b, err := c.buildFor(ctx, n)
	if err != nil {
		return nil, err
	}
	req := protocol.Request{Op: protocol.OpArchiveReceive, Version: c.version, Env: &protocol.Env{Name: envName},
		Upload: &protocol.Upload{ID: id, Size: size, MaxBytes: max}}
	line, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	line = append(line, '\n')
	cmd := agentCommand(n, b)
	for try := 0; ; try++ {
		pipe, err := c.SSH.Open(ctx, n, cmd, line)
		if err != nil {
			return nil, err
		}
		out := bufio.NewReaderSize(pipe, 64<<10)
		d := newDecoder(discard{}, nil)
		if !awaitReady(out, d) {
			// A refusal, a missing agent, or one that died at once.
			res, werr := pipe.Wait()
			pipe.Close()
			if werr != nil {
				return nil, werr
			}
			if res.ExitCode == 127 && try == 0 && !d.answered() {
				if err := c.upload(ctx, n, b, discard{}); err != nil {
					return nil, err
				}
				continue
			}
			if _, err := d.outcome(res, n); err != nil {
				return nil, err
			}
			return nil, pressluft.Errorf(pressluft.EAgentFailed, "The node agent on %s answered archive_receive without reading the archive.", n.Host)
		}
		lines := make(chan struct{})
		go func() {
			defer close(lines)
			for {
				l, err := out.ReadBytes('\n')
				if len(l) > 0 {
					d.line(l)
				}
				if err != nil {
					return
				}
			}
		}()
		src := &sourceReader{r: io.LimitReader(body, size)}
		sent, _ := pipe.Send(src)
		if src.err != nil || (sent < size && ctx.Err() == nil && !d.answered()) {
			// The client's body ended early: the agent reads a short input
			// and keeps nothing.
			<-lines
			pipe.Wait()
			pipe.Close()
			return nil, pressluft.Errorf(pressluft.EBadRequest, "The upload ended after %d of %d bytes; nothing was kept.", sent, size)
		}
		<-lines
		res, werr := pipe.Wait()
		pipe.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		} else if werr != nil {
			return nil, werr
		}
		raw, err := d.outcome(res, n)
		if err != nil {
			return nil, err
		}
		var r protocol.ReceiveResult
		if err := json.Unmarshal(raw, &r); err != nil || r.Size != size {
			return nil, unreadable(req.Op)
		}
		return &pressluft.ArchiveUpload{ID: id, Path: r.Path, Size: r.Size, SHA256: r.SHA256}, nil
	}
}

// DiscardUpload removes upload id of the environment.
func (c *Client) DiscardUpload(ctx context.Context, n *pressluft.Node, envName, id string) error {
	_, err := c.call(ctx, n, protocol.Request{Op: protocol.OpArchiveDiscard, Env: &protocol.Env{Name: envName},
		Upload: &protocol.Upload{ID: id}}, discard{})
	return err
}

// awaitReady reads the agent's lines until it asks for the raw input
// (true) or answers, ends or breaks the protocol first (false).
func awaitReady(out *bufio.Reader, d *decoder) bool {
	for {
		l, err := readHeader(out)
		if err != nil {
			return false
		}
		var m protocol.Message
		if json.Unmarshal(bytes.TrimSpace(l), &m) == nil && m.Type == protocol.TypeReady {
			return true
		}
		d.line(l)
		if d.answered() {
			return false
		}
	}
}

// sourceReader keeps the error of the body it reads, to tell a client
// that went away from a node that stopped reading.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.err = err
	}
	return n, err
}
