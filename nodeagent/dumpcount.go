package nodeagent

import (
	"bytes"
	"strings"
)

// rowCounter counts the rows of each table in mysqldump's output as it
// streams past: the tuples of every `INSERT INTO `t` VALUES (...),(...);`
// statement. The counts are exactly what the dump holds (a count taken by
// a query would see another moment of a live site). It understands what
// mysqldump writes: statements start a line (rows follow VALUES on the
// same line, or one per line below it), strings are single-quoted
// with backslash escapes (or doubled quotes), binary values are hex, and
// trigger and routine bodies sit between DELIMITER ;; and DELIMITER ;.
type rowCounter struct {
	counts map[string]int64
	state  int
	// head collects the start of a line until it is known whether it
	// starts an INSERT (a write may end anywhere).
	head      []byte
	table     string
	depth     int
	escaped   bool
	delimited bool // between DELIMITER ;; and DELIMITER ;
}

const (
	rcLineStart = iota // at the start of a line, collecting head
	rcSkipLine         // in a line that is not an INSERT
	rcValues           // in the VALUES list of an INSERT, outside strings
	rcString           // in a quoted string of an INSERT
)

const insertPrefix = "INSERT INTO `"

func newRowCounter() *rowCounter { return &rowCounter{counts: map[string]int64{}} }

func (c *rowCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		switch c.state {
		case rcSkipLine:
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return n, nil
			}
			p = p[i+1:]
			c.state, c.head = rcLineStart, c.head[:0]
		case rcLineStart:
			p = c.lineStart(p)
		case rcString:
			i := bytes.IndexAny(p, `\'`)
			if c.escaped {
				// The byte after a backslash is taken as it is.
				c.escaped, p = false, p[1:]
				continue
			}
			if i < 0 {
				return n, nil
			}
			if p[i] == '\\' {
				c.escaped, p = true, p[i+1:]
				continue
			}
			c.state, p = rcValues, p[i+1:]
		case rcValues:
			i := bytes.IndexAny(p, "'();")
			if i < 0 {
				return n, nil
			}
			switch p[i] {
			case '\'':
				c.state = rcString
			case '(':
				if c.depth == 0 {
					c.counts[c.table]++
				}
				c.depth++
			case ')':
				if c.depth > 0 {
					c.depth--
				}
			case ';':
				if c.depth == 0 {
					c.state = rcSkipLine // the rest of the line, then the next statement
				}
			}
			p = p[i+1:]
		}
	}
	return n, nil
}

// lineStart gathers the head of a line and decides what the line is.
func (c *rowCounter) lineStart(p []byte) []byte {
	nl := bytes.IndexByte(p, '\n')
	take := p
	if nl >= 0 {
		take = p[:nl]
	}
	room := 512 - len(c.head)
	if len(take) > room {
		take = take[:room]
	}
	c.head = append(c.head, take...)
	rest := p[len(take):]
	head := string(c.head)
	complete := nl >= 0 && nl == len(take) || len(c.head) >= 512

	if c.delimited {
		if complete || len(head) >= len("DELIMITER ;;") {
			if strings.TrimRight(head, " \r") == "DELIMITER ;" && complete {
				c.delimited = false
			}
			c.state = rcSkipLine
			return rest
		}
		return rest
	}
	if strings.HasPrefix(head, "DELIMITER ;;") {
		c.delimited = true
		c.state = rcSkipLine
		return rest
	}
	if len(head) < len(insertPrefix) && strings.HasPrefix(insertPrefix, head) && !complete {
		return rest // too short to tell yet
	}
	if !strings.HasPrefix(head, insertPrefix) {
		if strings.HasPrefix("DELIMITER ;;", head) && !complete {
			return rest
		}
		c.state = rcSkipLine
		return rest
	}
	// The table name ends at a backtick that is not doubled, followed by " VALUES ".
	name, after, ok := parseQuotedName(head[len(insertPrefix):])
	if !ok {
		if complete {
			c.state = rcSkipLine
		}
		return rest
	}
	// MySQL writes the rows after "VALUES " on the same line; MariaDB
	// starts a new line after "VALUES" and puts each row on its own.
	var values string
	switch {
	case strings.HasPrefix(after, " VALUES "):
		values = after[len(" VALUES "):]
	case after == " VALUES" && complete:
	case !complete && strings.HasPrefix(" VALUES ", after):
		return rest // too short to tell yet
	default:
		c.state = rcSkipLine
		return rest
	}
	// Hand what followed VALUES back to the value scanner: it is part of
	// the head already taken from p.
	c.table, c.depth, c.escaped, c.state = name, 0, false, rcValues
	c.head = c.head[:0]
	if len(values) > 0 {
		_, _ = c.Write([]byte(values))
	}
	return rest
}

// parseQuotedName reads a backtick-quoted identifier's body (a doubled
// backtick is one backtick) up to its closing backtick, and returns what
// follows.
func parseQuotedName(s string) (string, string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '`' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '`' {
			b.WriteByte('`')
			i++
			continue
		}
		if i+1 == len(s) {
			return "", "", false // a doubled backtick may follow
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
}
