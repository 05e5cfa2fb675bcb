// Command starter is the operator's CLI for the JumpCloud → Authomize sync: start a sync and
// watch it, show the running or last sync, check an integration's credentials, and manage
// the schedules that sync each integration periodically.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"

	"jcsync/internal/config"
	"jcsync/internal/logging"
	"jcsync/internal/progress"
	"jcsync/internal/temporalnames"
)

// Exit codes.
const (
	exitOK      = 0
	exitFailed  = 1 // the sync (or check) ran and failed, or was refused
	exitUsage   = 2
	exitTimeout = 3
)

// getenv is the environment the flags fall back to; tests replace it.
var getenv = os.Getenv

const usage = `starter: run and watch JumpCloud → Authomize syncs on Temporal.

Usage:
  starter <command> [flags]

Commands:
  sync       start a sync of an integration (and with --wait, watch it and print the summary)
  status     show the running or last sync of an integration, with its Web UI link
  validate   check an integration's JumpCloud key and Authomize token through a worker
  setup      check the credentials and create (or name) the integration's Authomize app, as the vendor's guide does
  schedule   create, update, describe, list, pause, unpause, trigger or delete a sync schedule
  codec-server  serve /encode and /decode for the Web UI and CLI with the payload keyring (no integration secrets)

Run 'starter <command> --help' for the command's flags and examples.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one command line; tests call it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "sync":
		return cmdSync(ctx, rest, stdout, stderr)
	case "status":
		return cmdStatus(ctx, rest, stdout, stderr)
	case "validate":
		return cmdValidate(ctx, rest, stdout, stderr)
	case "setup":
		return cmdSetup(ctx, rest, stdout, stderr)
	case "schedule":
		return cmdSchedule(ctx, rest, stdout, stderr)
	case "codec-server":
		return cmdCodecServer(ctx, rest, stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "starter: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

// common are the flags every command shares: the Temporal connection and the logging of the
// SDK's own messages.
type common struct {
	temporal    config.Temporal
	log         logging.Options
	integration string
	uiURL       string
	output      string
	// dataConverter is the one the Temporal client uses, set by dial: the progress view
	// decodes checkpoints with it.
	dataConverter converter.DataConverter
}

// newFlags builds a command's flag set with its help text.
func newFlags(name, summary, examples string, c *common, stderr io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: starter %s [flags]\n\n%s\n\nExamples:\n%s\nFlags:\n%s", name, summary, examples, fs.FlagUsages())
	}
	config.AddTemporalFlags(fs, &c.temporal, getenv, temporalnames.TaskQueue)
	c.log = logging.Options{Level: "warn", Format: "text"}
	fs.StringVar(&c.log.Level, "log-level", "warn", "level of the Temporal SDK's own log messages")
	fs.StringVar(&c.log.Format, "log-format", "text", "format of log messages: text or json")
	return fs
}

func addIntegration(fs *pflag.FlagSet, c *common) {
	def := getenv(config.EnvIntegrationName)
	if def == "" {
		def = config.DefaultIntegrationName
	}
	fs.StringVar(&c.integration, "integration", def, "integration name (env "+config.EnvIntegrationName+")")
}

func addOutput(fs *pflag.FlagSet, c *common) {
	fs.StringVarP(&c.output, "output", "o", "text", "output format: text or json")
}

func addUIURL(fs *pflag.FlagSet, c *common) {
	def := getenv("TEMPORAL_UI_URL")
	if def == "" {
		def = "http://localhost:8233"
	}
	fs.StringVar(&c.uiURL, "ui-url", def, "Temporal Web UI base URL, for links (env TEMPORAL_UI_URL)")
}

// parse parses args; done is true when the command should end now with code.
func parse(fs *pflag.FlagSet, args []string, c *common, stderr io.Writer) (code int, done bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK, true
		}
		fmt.Fprintf(stderr, "starter %s: %v\n", fs.Name(), err)
		return exitUsage, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "starter %s: unexpected arguments %v\n", fs.Name(), fs.Args())
		return exitUsage, true
	}
	if c.output != "" && c.output != "text" && c.output != "json" {
		fmt.Fprintf(stderr, "starter %s: --output %q: want text or json\n", fs.Name(), c.output)
		return exitUsage, true
	}
	if fs.Lookup("integration") != nil && c.integration == "" {
		fmt.Fprintf(stderr, "starter %s: --integration is empty\n", fs.Name())
		return exitUsage, true
	}
	if err := c.temporal.Resolve(); err != nil {
		fmt.Fprintf(stderr, "starter %s: %v\n", fs.Name(), err)
		return exitUsage, true
	}
	return 0, false
}

// dial connects to Temporal with the SDK's logs routed through logrus (to stderr).
func dial(ctx context.Context, c *common, stderr io.Writer) (client.Client, error) {
	log, err := logging.New(c.log, stderr)
	if err != nil {
		return nil, err
	}
	opts, err := c.temporal.ClientOptions(log)
	if err != nil {
		return nil, err
	}
	opts.Logger = logging.NewTemporal(log)
	c.dataConverter = opts.DataConverter
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tc, err := c.temporal.Dial(dctx, opts)
	if err != nil {
		return nil, err
	}
	return tc, nil
}

// progressOf is the progress view of the syncs tc runs.
func progressOf(tc client.Client, c *common) progress.Source {
	return progress.Source{Temporal: tc, DataConverter: c.dataConverter}
}

// webLink is the Web UI page of one run.
func webLink(uiURL, namespace, workflowID, runID string) string {
	return fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s", strings.TrimRight(uiURL, "/"),
		url.PathEscape(namespace), url.PathEscape(workflowID), url.PathEscape(runID))
}

// failureMessage digs the operator-facing message out of a workflow error: the innermost
// application error says what went wrong (e.g. which credential was rejected), without
// the layers of workflow and activity wrapping.
func failureMessage(err error) string {
	var app *temporal.ApplicationError
	msg := ""
	for e := err; e != nil; e = errors.Unwrap(e) {
		if errors.As(e, &app) {
			msg = app.Message()
			e = app
		} else {
			break
		}
	}
	if msg != "" {
		var act *temporal.ActivityError
		if errors.As(err, &act) && act.ActivityType() != nil {
			return act.ActivityType().GetName() + ": " + msg
		}
		return msg
	}
	var te *temporal.TimeoutError
	if errors.As(err, &te) {
		return "timed out: " + te.Error()
	}
	var ce *temporal.CanceledError
	if errors.As(err, &ce) {
		return "cancelled"
	}
	var term *temporal.TerminatedError
	if errors.As(err, &term) {
		return "terminated"
	}
	return err.Error()
}

// fail prints an error of a command and returns its exit code.
func fail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "starter %s: %v\n", cmd, err)
	if errors.Is(err, context.DeadlineExceeded) {
		return exitTimeout
	}
	return exitFailed
}
