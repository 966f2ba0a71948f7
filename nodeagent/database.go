package nodeagent

import (
	"bytes"
	"context"
	"os"
	"strings"

	"github.com/pressluft/pressluft/agent/protocol"
)

// mariadbArgv runs SQL from stdin as root over the local socket.
var mariadbArgv = []string{"mariadb", "--batch", "--skip-column-names"}

// ensureDatabase creates the environment's database and user, with rights
// on that database only, and sets the user's password. The SQL, password
// included, goes on mariadb's stdin.
func (a *agent) ensureDatabase(ctx context.Context, env *protocol.Env) error {
	sql, err := render("database.sql.tmpl", env)
	if err != nil {
		return err
	}
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: bytes.NewReader(sql)})
	if err != nil {
		return err
	}
	// The first statement counted the database and the user that already existed.
	if strings.TrimSpace(string(out)) == "2" {
		a.event("database", "database "+env.DBName+" and user "+env.DBUser+" exist")
	} else {
		a.event("database", "created database "+env.DBName+" and user "+env.DBUser)
	}
	return nil
}

// dropDatabase removes the environment's database and its user.
func (a *agent) dropDatabase(ctx context.Context, env *protocol.Env) error {
	sql, err := render("database-drop.sql.tmpl", env)
	if err != nil {
		return err
	}
	out, err := a.run(ctx, command{argv: mariadbArgv, stdin: bytes.NewReader(sql)})
	if err != nil {
		return err
	}
	if strings.TrimSpace(string(out)) != "0" {
		a.event("database", "dropped database "+env.DBName+" and user "+env.DBUser)
	}
	return nil
}

// copyDatabase streams the source database into the target: mysqldump and
// mariadb joined by a pipe, no shell and no file in between.
func (a *agent) copyDatabase(ctx context.Context, from, to string) error {
	return a.copyTables(ctx, from, to, nil)
}

// copyTables streams the named tables of from (all of them when none are
// named) into to, in one consistent snapshot of from.
func (a *agent) copyTables(ctx context.Context, from, to string, tables []string) error {
	argv := append([]string{"mysqldump", "--single-transaction", "--quick", "--hex-blob",
		"--no-tablespaces", "--default-character-set=utf8mb4", "--", from}, tables...)
	dump := prepare(ctx, command{argv: argv})
	load := prepare(ctx, command{argv: []string{"mariadb", "--default-character-set=utf8mb4", "--", to}})
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	var dumpErr, loadErr, loadOut strings.Builder
	dump.Stdout, dump.Stderr = pw, &dumpErr
	load.Stdin, load.Stdout, load.Stderr = pr, &loadOut, &loadErr
	if err := load.Start(); err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	pr.Close()
	if err := dump.Start(); err != nil {
		pw.Close()
		_ = load.Wait()
		return err
	}
	pw.Close()
	errDump := dump.Wait()
	errLoad := load.Wait()
	if ctx.Err() != nil {
		return errorf(protocol.ErrCancelled, "cancelled while copying the database")
	}
	if errDump != nil {
		return a.commandError(dump.Args, errDump, dumpErr.String(), "")
	}
	if errLoad != nil {
		return a.commandError(load.Args, errLoad, loadErr.String(), loadOut.String())
	}
	return nil
}
