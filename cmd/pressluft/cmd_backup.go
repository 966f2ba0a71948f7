package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/pressluft/pressluft"
)

func backupCommands() []command {
	var f struct {
		env, scope, backup, part, output, frequency, timezone string
		minute, hour, weekday, keepLast, keepDays, keepLocal  int
		endpoint, region, bucket, prefix, accessKey           string
		secretStdin, useTLS, wait, del                        bool
	}
	waitFlag := func(fs *flag.FlagSet) { fs.BoolVar(&f.wait, "wait", false, "follow the job until it ends") }
	envFlag := func(fs *flag.FlagSet) { fs.StringVar(&f.env, "env", "", "environment id") }
	needEnv := func() error {
		if f.env == "" {
			return fmt.Errorf("--env is required")
		}
		return nil
	}
	// jobOn posts to path and follows the job it answers.
	jobOn := func(c *client, method, path string, body any) error {
		var r struct {
			JobID string `json:"job_id"`
		}
		if done, err := c.call(method, path, body, &r); done || err != nil {
			return err
		}
		return c.accepted(r.JobID, f.wait)
	}
	byID := func(method, suffix string) func(c *client, args []string) error {
		return func(c *client, args []string) error {
			id, err := oneID(args, "backup")
			if err != nil {
				return err
			}
			return jobOn(c, method, "/api/backups/"+id+suffix, nil)
		}
	}
	return []command{
		{name: "backup list", usage: "--env ID", flags: envFlag,
			run: func(c *client, args []string) error {
				if err := needEnv(); err != nil {
					return err
				}
				var list struct {
					Items []*pressluft.Backup `json:"items"`
				}
				if done, err := c.call("GET", "/api/environments/"+pathID(f.env)+"/backups", nil, &list); done || err != nil {
					return err
				}
				var rows [][]string
				for _, b := range list.Items {
					rows = append(rows, []string{b.ID, b.Scope, b.Status, b.Trigger, b.Location, strconv.FormatInt(b.SizeBytes, 10),
						b.CreatedAt.Format("2006-01-02 15:04:05Z07:00"), b.OffsiteError})
				}
				return table(c.out, "ID\tSCOPE\tSTATUS\tTRIGGER\tLOCATION\tBYTES\tCREATED\tOFFSITE ERROR", rows)
			}},
		{name: "backup create", usage: "--env ID [--scope db|files|full] [--wait]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.scope, "scope", "full", "db, files or full")
				waitFlag(fs)
			},
			run: func(c *client, args []string) error {
				if err := needEnv(); err != nil {
					return err
				}
				return jobOn(c, "POST", "/api/environments/"+pathID(f.env)+"/backups", map[string]string{"scope": f.scope})
			}},
		{name: "backup get", usage: "ID",
			run: func(c *client, args []string) error {
				id, err := oneID(args, "backup")
				if err != nil {
					return err
				}
				var b pressluft.Backup
				if done, err := c.call("GET", "/api/backups/"+id, nil, &b); done || err != nil {
					return err
				}
				kv := []string{"id", b.ID, "environment", b.EnvironmentID, "scope", b.Scope, "status", b.Status, "trigger", b.Trigger,
					"location", b.Location, "offsite key", b.OffsiteKey, "offsite error", b.OffsiteError, "bytes", strconv.FormatInt(b.SizeBytes, 10),
					"manifest sha256", b.SHA256, "created", when(&b.CreatedAt), "completed", when(b.CompletedAt), "error", b.Error}
				if m := b.Manifest; m != nil {
					for _, p := range m.Parts {
						kv = append(kv, p.Name, fmt.Sprintf("%d bytes, sha256 %s", p.Size, p.SHA256))
					}
					kv = append(kv, "tables", strconv.Itoa(len(m.Tables)), "files", strconv.FormatInt(m.FileCount, 10), "wordpress", m.WPVersion)
				}
				return facts(c.out, kv...)
			}},
		{name: "backup delete", usage: "ID [--wait]", flags: waitFlag, run: byID("DELETE", "")},
		{name: "backup upload", usage: "ID [--wait]   (copy it offsite again)", flags: waitFlag, run: byID("POST", "/upload")},
		{name: "backup restore", usage: "ID --env ID [--wait]   (into that environment of the same site)",
			flags: func(fs *flag.FlagSet) { envFlag(fs); waitFlag(fs) },
			run: func(c *client, args []string) error {
				id, err := oneID(args, "backup")
				if err != nil {
					return err
				}
				if err := needEnv(); err != nil {
					return err
				}
				return jobOn(c, "POST", "/api/environments/"+pathID(f.env)+"/restore", map[string]string{"backup_id": id})
			}},
		{name: "backup download", usage: "ID --part manifest.json|db.sql.zst|files.tar.zst [-o FILE]   (resumes a partial FILE)",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.part, "part", pressluft.PartManifest, "which part")
				fs.StringVar(&f.output, "o", "", "file to write (default: backup-<id>-<part>)")
			},
			run: func(c *client, args []string) error {
				id, err := oneID(args, "backup")
				if err != nil {
					return err
				}
				if f.output == "" {
					f.output = "backup-" + id + "-" + f.part
				}
				return c.download("/api/backups/"+id+"/download?part="+url.QueryEscape(f.part), f.output)
			}},
		{name: "backup schedule", usage: "--env ID [--frequency hourly|daily|weekly --minute M --hour H --weekday D --timezone TZ --scope S --keep-last N --keep-days N | --delete]",
			flags: func(fs *flag.FlagSet) {
				envFlag(fs)
				fs.StringVar(&f.frequency, "frequency", "", "hourly, daily or weekly (omit to show the schedule)")
				fs.IntVar(&f.minute, "minute", 0, "minute of the hour")
				fs.IntVar(&f.hour, "hour", 3, "hour of the day (daily, weekly)")
				fs.IntVar(&f.weekday, "weekday", 0, "day of the week, 0 = Sunday (weekly)")
				fs.StringVar(&f.timezone, "timezone", "UTC", "IANA time zone")
				fs.StringVar(&f.scope, "scope", "full", "db, files or full")
				fs.IntVar(&f.keepLast, "keep-last", 0, "keep the last N scheduled backups")
				fs.IntVar(&f.keepDays, "keep-days", 0, "keep scheduled backups for N days")
				fs.BoolVar(&f.del, "delete", false, "remove the schedule")
			},
			run: func(c *client, args []string) error {
				if err := needEnv(); err != nil {
					return err
				}
				path := "/api/environments/" + pathID(f.env) + "/backup-schedule"
				var s pressluft.BackupSchedule
				var done bool
				var err error
				switch {
				case f.del:
					if _, err := c.call("DELETE", path, nil, nil); err != nil {
						return err
					}
					fmt.Fprintln(c.out, "schedule removed; its backups stay")
					return nil
				case f.frequency == "":
					done, err = c.call("GET", path, nil, &s)
				default:
					done, err = c.call("PUT", path, map[string]any{"frequency": f.frequency, "minute": f.minute, "hour": f.hour,
						"weekday": f.weekday, "timezone": f.timezone, "scope": f.scope, "keep_last": f.keepLast, "keep_days": f.keepDays}, &s)
				}
				if done || err != nil {
					return err
				}
				return facts(c.out, "frequency", s.Frequency, "at", fmt.Sprintf("minute %d, hour %d, weekday %d, %s", s.Minute, s.Hour, s.Weekday, s.Timezone),
					"scope", s.Scope, "keep last", strconv.Itoa(s.KeepLast), "keep days", strconv.Itoa(s.KeepDays), "next run", when(&s.NextRunAt))
			}},
		{name: "offsite get", usage: "",
			run: func(c *client, args []string) error { return c.showOffsite("GET", nil) }},
		{name: "offsite set", usage: "--endpoint HOST[:PORT] --bucket B --access-key K [--secret-key-stdin] [--tls] [--region R] [--prefix P] [--keep-local N]",
			flags: func(fs *flag.FlagSet) {
				fs.StringVar(&f.endpoint, "endpoint", "", "S3 endpoint host[:port], without scheme")
				fs.BoolVar(&f.useTLS, "tls", false, "use https")
				fs.StringVar(&f.region, "region", "", "region (empty: ask the bucket)")
				fs.StringVar(&f.bucket, "bucket", "", "bucket")
				fs.StringVar(&f.prefix, "prefix", "", "key prefix")
				fs.StringVar(&f.accessKey, "access-key", "", "access key id")
				fs.BoolVar(&f.secretStdin, "secret-key-stdin", false, "read the secret key from stdin (else the stored one is kept)")
				fs.IntVar(&f.keepLocal, "keep-local", 0, "keep node copies of only the newest N backups per environment once offsite (0: all)")
			},
			run: func(c *client, args []string) error {
				body := map[string]any{"endpoint": f.endpoint, "use_tls": f.useTLS, "region": f.region, "bucket": f.bucket, "prefix": f.prefix,
					"access_key": f.accessKey, "keep_local": f.keepLocal}
				if f.secretStdin {
					secret, err := readLine(c.in)
					if err != nil {
						return fmt.Errorf("--secret-key-stdin: %w", err)
					}
					body["secret_key"] = secret
				}
				return c.showOffsite("PUT", body)
			}},
		{name: "offsite test", usage: "",
			run: func(c *client, args []string) error {
				if _, err := c.call("POST", "/api/settings/offsite/test", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.out, "the offsite target accepts the credentials and a probe object")
				return nil
			}},
		{name: "offsite delete", usage: "",
			run: func(c *client, args []string) error {
				if _, err := c.call("DELETE", "/api/settings/offsite", nil, nil); err != nil {
					return err
				}
				fmt.Fprintln(c.out, "offsite target removed; copies already offsite stay there")
				return nil
			}},
	}
}

func (c *client) showOffsite(method string, body any) error {
	var o pressluft.OffsiteSettings
	if done, err := c.call(method, "/api/settings/offsite", body, &o); done || err != nil {
		return err
	}
	return facts(c.out, "endpoint", o.Endpoint, "tls", strconv.FormatBool(o.UseTLS), "region", o.Region, "bucket", o.Bucket,
		"prefix", o.Prefix, "access key", o.AccessKey, "secret key set", strconv.FormatBool(o.SecretKeySet), "keep local", strconv.Itoa(o.KeepLocal))
}

// download streams path into file, asking only for the bytes a partial
// file lacks (the control plane answers a Range with 206).
func (c *client) download(path, file string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(c.ctx, "GET", c.server+path, nil)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if have > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
	}
	hc := *c.hc
	hc.Timeout = 0 // a large part takes as long as it takes
	res, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the control plane at %s: %w", c.server, err)
	}
	defer res.Body.Close()
	switch res.StatusCode {
	case http.StatusOK:
		if err := f.Truncate(0); err != nil {
			return err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		have = 0
	case http.StatusPartialContent:
	case http.StatusRequestedRangeNotSatisfiable:
		if have > 0 {
			fmt.Fprintf(c.out, "%s is complete (%d bytes)\n", file, have)
			return nil
		}
		fallthrough
	default:
		return c.do("GET", path, nil, nil) // the same request again, for its error
	}
	n, err := io.Copy(f, res.Body)
	if err != nil {
		return fmt.Errorf("download stopped after %d bytes (run it again to resume): %w", have+n, err)
	}
	fmt.Fprintf(c.out, "wrote %s (%d bytes)\n", file, have+n)
	return nil
}

// readLine reads one line (a secret) from r, without its line ending.
func readLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("nothing on stdin")
	}
	return strings.TrimRight(line, "\r\n"), nil
}
