package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"time"
)

// api is a logged-in client of the sandbox's control plane.
type api struct {
	base string
	hc   *http.Client
}

func login(ctx context.Context, base, email, password string) (*api, error) {
	jar, _ := cookiejar.New(nil)
	a := &api{base: base, hc: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
	if err := a.do(ctx, "POST", "/api/login", map[string]string{"email": email, "password": password}, nil); err != nil {
		return nil, fmt.Errorf("log in as %s: %w", email, err)
	}
	return a, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// do sends body as JSON and decodes a 2xx answer into out (when not nil).
func (a *api) do(ctx context.Context, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode/100 != 2 {
		e := &apiError{Status: res.StatusCode}
		_ = json.Unmarshal(raw, e)
		return fmt.Errorf("%s %s: %w", method, path, e)
	}
	if out == nil || len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, out)
}

type node struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Host   string `json:"host"`
	Status string `json:"status"`
}

type site struct {
	ID     string `json:"id"`
	Slug   string `json:"slug"`
	Status string `json:"status"`
}

type environment struct {
	ID         string `json:"id"`
	Type       string `json:"type"`
	Status     string `json:"status"`
	PreviewURL string `json:"preview_url"`
}

type jobEvent struct {
	Level   string `json:"level"`
	Step    string `json:"step"`
	Message string `json:"message"`
}

type job struct {
	ID           string     `json:"id"`
	Type         string     `json:"type"`
	Status       string     `json:"status"`
	ErrorCode    string     `json:"error_code"`
	ErrorMessage string     `json:"error_message"`
	OutputTail   string     `json:"output_tail"`
	Events       []jobEvent `json:"events"`
}

func (j *job) done() bool {
	return j.Status == "succeeded" || j.Status == "failed" || j.Status == "cancelled"
}

// waitJob polls a job until it ends, handing each new event to show.
func (a *api) waitJob(ctx context.Context, id string, show func(jobEvent)) (*job, error) {
	seen := 0
	for {
		var j job
		if err := a.do(ctx, "GET", "/api/jobs/"+id, nil, &j); err != nil {
			return nil, err
		}
		for ; seen < len(j.Events); seen++ {
			show(j.Events[seen])
		}
		if j.done() {
			return &j, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// list fetches a collection ({"items": [...]}).
func list[T any](ctx context.Context, a *api, path string) ([]T, error) {
	var page struct {
		Items []T `json:"items"`
	}
	err := a.do(ctx, "GET", path, nil, &page)
	return page.Items, err
}

// unfinishedJob returns a queued or running job matching the query (as
// GET /api/jobs takes it), or nil: work an interrupted run left going.
func (a *api) unfinishedJob(ctx context.Context, query string) (*job, error) {
	jobs, err := list[job](ctx, a, "/api/jobs?"+query)
	if err != nil {
		return nil, err
	}
	for i := range jobs {
		if !jobs[i].done() {
			return &jobs[i], nil
		}
	}
	return nil, nil
}
