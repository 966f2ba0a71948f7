package main

import (
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/pressluft/pressluft"
)

func jobCommands() []command {
	var f struct {
		status, typ, site, env, node string
		limit                        int
		timeout                      time.Duration
	}
	return []command{
		{name: "job list", usage: "[--status S] [--type T] [--site ID] [--env ID] [--node ID] [--limit 50]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.status, "status", "", "queued, running, succeeded, failed or cancelled")
				fs.StringVar(&f.typ, "type", "", "job type, e.g. site_create")
				fs.StringVar(&f.site, "site", "", "site id")
				fs.StringVar(&f.env, "env", "", "environment id")
				fs.StringVar(&f.node, "node", "", "node id")
				fs.IntVar(&f.limit, "limit", 50, "at most this many (1-500)")
			},
			run: func(c *client, args []string) error {
				q := url.Values{"limit": {strconv.Itoa(f.limit)}}
				for k, v := range map[string]string{"status": f.status, "type": f.typ, "site_id": f.site, "environment_id": f.env, "node_id": f.node} {
					if v != "" {
						q.Set(k, v)
					}
				}
				var list struct {
					Items []*pressluft.Job `json:"items"`
				}
				if done, err := c.call("GET", "/api/jobs?"+q.Encode(), nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, j := range list.Items {
					rows = append(rows, []string{j.ID, j.Type, j.Status, fmt.Sprintf("%d/%d", j.Attempt, j.MaxAttempts),
						when(&j.CreatedAt), j.ErrorCode})
				}
				return table(c.out, "ID\tTYPE\tSTATUS\tATTEMPT\tCREATED\tERROR", rows)
			}},
		{name: "job get", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "job")
				if err != nil {
					return err
				}
				var j pressluft.Job
				if done, err := c.call("GET", "/api/jobs/"+id, nil, &j); done || err != nil {
					return err
				}
				if err := facts(c.out, "id", j.ID, "type", j.Type, "status", j.Status, "attempt", fmt.Sprintf("%d of %d", j.Attempt, j.MaxAttempts),
					"site", j.SiteID, "environment", j.EnvironmentID, "node", j.NodeID, "created", when(&j.CreatedAt),
					"started", when(j.StartedAt), "finished", when(j.FinishedAt), "error", errorText(&j)); err != nil {
					return err
				}
				fmt.Fprintln(c.out)
				for _, ev := range j.Events {
					printEvent(c, ev)
				}
				return nil
			}},
		{name: "job cancel", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "job")
				if err != nil {
					return err
				}
				var j pressluft.Job
				if done, err := c.call("POST", "/api/jobs/"+id+"/cancel", nil, &j); done || err != nil {
					return err
				}
				if j.Status == pressluft.JobCancelled {
					fmt.Fprintf(c.out, "job %s cancelled\n", j.ID)
				} else {
					fmt.Fprintf(c.out, "job %s: cancel requested; its process is being stopped\n", j.ID)
				}
				return nil
			}},
		{name: "job wait", usage: "ID [--timeout 0]",
			flags: func(fs *flag.FlagSet) {
				fs.DurationVar(&f.timeout, "timeout", 0, "give up after this long (0: wait until the job ends)")
			},
			run: func(c *client, args []string) error {
				id, err := oneID(args, "job")
				if err != nil {
					return err
				}
				return c.wait(id, f.timeout)
			}},
	}
}

// accepted reports a job a mutation enqueued and, with wait, follows it.
func (c *client) accepted(jobID string, wait bool) error {
	if !c.json {
		fmt.Fprintf(c.out, "queued job %s\n", jobID)
	}
	if !wait {
		return nil
	}
	return c.wait(jobID, 0)
}

// wait follows a job until it ends, printing its events as they come, and
// fails unless the job succeeded.
func (c *client) wait(id string, timeout time.Duration) error {
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	var seen int64
	for {
		var j pressluft.Job
		if err := c.do("GET", "/api/jobs/"+id, nil, &j); err != nil {
			return err
		}
		if !c.json {
			for _, ev := range j.Events {
				if ev.Seq > seen {
					printEvent(c, ev)
					seen = ev.Seq
				}
			}
		}
		if j.Terminal() {
			if c.json {
				if _, err := c.call("GET", "/api/jobs/"+id, nil, nil); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(c.out, "job %s %s\n", j.ID, j.Status)
			}
			if j.Status == pressluft.JobSucceeded {
				return nil
			}
			return &pressluft.Error{Code: j.ErrorCode, Message: fmt.Sprintf("job %s %s: %s", j.ID, j.Status, j.ErrorMessage)}
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("job %s is still %s after %s", id, j.Status, timeout)
		}
		select {
		case <-c.ctx.Done():
			return c.ctx.Err()
		case <-time.After(c.poll):
		}
	}
}

func printEvent(c *client, ev *pressluft.JobEvent) {
	fmt.Fprintf(c.out, "%s [%s] %s: %s\n", ev.Time.Local().Format("15:04:05"), ev.Level, clean(ev.Step), clean(ev.Message))
}

func errorText(j *pressluft.Job) string {
	if j.ErrorCode == "" {
		return "-"
	}
	return j.ErrorMessage + " (" + j.ErrorCode + ")"
}
