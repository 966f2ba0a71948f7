// Package nodeagent is the node side of Pressluft's environment operations:
// it reads one protocol.Request from stdin, does the work on the node with
// exec'd programs (never a shell) and the embedded PHP helper, and answers
// with JSON lines on stdout.
package nodeagent

// Version is the agent's version, set at build time with
// -ldflags "-X github.com/pressluft/pressluft/nodeagent.Version=...".
var Version = "dev"
