package http_test

import (
	"bufio"
	"context"
	"io"
	nethttp "net/http"
	"testing"
	"time"

	"github.com/pressluft/pressluft"
)

// openStream opens a job's event stream with c's credentials and returns the
// response; its body ends when the server ends the stream.
func (c *client) openStream(jobID string) *nethttp.Response {
	c.tb.Helper()
	req, _ := nethttp.NewRequest("GET", c.base+"/api/jobs/"+jobID+"/events", nil)
	for k, v := range c.header {
		req.Header[k] = v
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.tb.Cleanup(func() { res.Body.Close() })
	return res
}

// ended reports when the stream's body reaches its end.
func ended(body io.Reader) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(body)
		for sc.Scan() {
		}
		close(done)
	}()
	return done
}

func waitEnded(tb testing.TB, done <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		tb.Fatalf("the event stream is still open after %s", what)
	}
}

func TestAPI_EventStreamEndsWithItsSession(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.SessionRecheck = 20 * time.Millisecond
	j, err := ts.Jobs.Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
	if err != nil {
		t.Fatal(err)
	}

	c := ts.loggedIn(t)
	res := c.openStream(j.ID)
	if res.StatusCode != 200 {
		t.Fatalf("stream: %d", res.StatusCode)
	}
	done := ended(res.Body)
	c.expect("POST", "/api/logout", "", 204, "")
	waitEnded(t, done, "logout")

	token := ts.bearerToken(t)
	bearer := ts.client(t)
	bearer.header.Set("Authorization", "Bearer "+token)
	tokens, err := ts.Auth.FindAPITokens(context.Background(), mustUserID(t, ts))
	if err != nil {
		t.Fatal(err)
	}
	res = bearer.openStream(j.ID)
	done = ended(res.Body)
	if err := ts.Auth.RevokeAPIToken(context.Background(), tokens[0].UserID, tokens[0].ID); err != nil {
		t.Fatal(err)
	}
	waitEnded(t, done, "the token was revoked")
}

func TestAPI_EventStreamsCappedPerUser(t *testing.T) {
	t.Parallel()
	ts := mustServer(t)
	ts.MaxStreamsPerUser = 2
	if _, err := ts.Auth.CreateUser(context.Background(), "second@example.com", "correct horse"); err != nil {
		t.Fatal(err)
	}
	j, err := ts.Jobs.Enqueue(context.Background(), pressluft.NewJob{Type: pressluft.JobNoop})
	if err != nil {
		t.Fatal(err)
	}
	c := ts.loggedIn(t)
	first, second := c.openStream(j.ID), c.openStream(j.ID)
	if first.StatusCode != 200 || second.StatusCode != 200 {
		t.Fatalf("streams: %d %d", first.StatusCode, second.StatusCode)
	}
	third := c.openStream(j.ID)
	if third.StatusCode != 429 {
		t.Fatalf("third stream: %d, want 429", third.StatusCode)
	}
	other := ts.client(t)
	other.expect("POST", "/api/login", `{"email":"second@example.com","password":"correct horse"}`, 200, "")
	if res := other.openStream(j.ID); res.StatusCode != 200 {
		t.Fatalf("another user's stream: %d", res.StatusCode)
	}
	// A closed stream gives its place back.
	done := ended(first.Body)
	first.Body.Close()
	<-done
	for {
		res := c.openStream(j.ID)
		if res.StatusCode == 200 {
			break
		}
		res.Body.Close()
		time.Sleep(10 * time.Millisecond) // the server notices the closed stream at its next poll
	}
}
