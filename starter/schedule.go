package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	_ "time/tzdata" // for checkTimeZone

	"github.com/spf13/pflag"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"jcsync/activities"
	"jcsync/internal/codec"
	"jcsync/internal/temporalnames"
)

const scheduleExamples = `  starter schedule create --integration acme --every 6h --jitter 5m
  starter schedule create --integration acme --cron "0 2 * * *" --time-zone Europe/Berlin --pause-on-failure
  starter schedule update --integration acme --every 12h
  starter schedule update --integration acme --sweep-margin 5m   # the other settings stay as they are
  starter schedule describe --integration acme
  starter schedule list
  starter schedule pause --integration acme --note "JumpCloud maintenance"
  starter schedule unpause --integration acme
  starter schedule trigger --integration acme          # one sync now, by the schedule's rules
  starter schedule delete --integration acme
`

type scheduleFlags struct {
	every          time.Duration
	cron           string
	timeZone       string
	jitter         time.Duration
	catchupWindow  time.Duration
	pauseOnFailure bool
	overlap        string
	note           string
	dryRun         bool
	sweepMargin    time.Duration
	maxRejected    int
	phaseDeadline  time.Duration
	allowNoWorker  bool
}

// scheduleAction is one action of `starter schedule`.
type scheduleAction struct {
	name, summary string
	// integration, timing and note say which flags the action takes besides the common ones.
	integration, timing, note bool
	// startsSyncs: the action writes the schedule's action, which starts syncs with the
	// integration's search attribute, so the namespace must hold the attributes first.
	startsSyncs bool
	// do performs the action and prints its outcome; an error is printed by cmdSchedule.
	do func(ctx context.Context, s *scheduleRun) (int, error)
}

// scheduleRun is what an action works with.
type scheduleRun struct {
	c              *common
	f              scheduleFlags
	changed        func(flag string) bool
	tc             client.Client
	sc             client.ScheduleClient
	h              client.ScheduleHandle
	id             string
	stdout, stderr io.Writer
}

// done prints a one-line outcome.
func (s *scheduleRun) done(format string, args ...any) (int, error) {
	fmt.Fprintf(s.stdout, format+"\n", args...)
	return exitOK, nil
}

// doneApplied prints the outcome of a create or update, with the changes made besides the
// flags given.
func (s *scheduleRun) doneApplied(verb string, applied *appliedSchedule) (int, error) {
	fmt.Fprintf(s.stdout, "%s schedule %s: syncs start on task queue %s\n", verb, s.id, applied.queue)
	for _, n := range applied.notes {
		fmt.Fprintf(s.stdout, "  %s\n", n)
	}
	return exitOK, nil
}

var scheduleActions = []scheduleAction{
	{name: "create", integration: true, timing: true, note: true, startsSyncs: true,
		summary: "Creates the schedule that syncs an integration every --every (or by --cron). Default: every 6h,\noverlap skip (a sync still running makes the next one skip).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			applied, err := scheduleCreate(ctx, s)
			if err != nil {
				return 0, err
			}
			return s.doneApplied("created", applied)
		}},
	{name: "update", integration: true, timing: true, note: true, startsSyncs: true,
		summary: "Changes the settings given; every other setting stays as it is. A schedule made by an older starter\nis brought up to date on the way (its syncs' task queue, pause on failure, catch-up window): the output says so.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			var applied *appliedSchedule
			err := s.h.Update(ctx, client.ScheduleUpdateOptions{DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				if p := sched.Policy; p != nil && !s.changed("overlap") && overlapRefused(p.Overlap) {
					// Kept as it is, the policy would go on cancelling syncs: the operator
					// chooses another in the same update.
					return nil, fmt.Errorf("schedule %s has overlap policy %s: %s. Choose another in this update, e.g. `starter schedule update --integration %s --overlap skip`",
						s.id, overlapName(p.Overlap), overlapRefusedWhy, s.c.integration)
				}
				t := scheduleTarget{integration: s.c.integration, baseQueue: s.c.temporal.TaskQueue, baseGiven: s.changed("task-queue"), dc: s.c.dataConverter}
				var err error
				if applied, err = applyScheduleFlags(&sched, s.changed, s.f, t); err != nil {
					return nil, err
				}
				if err := checkWorkers(ctx, s.tc, applied.baseQueue, applied.queue, s.c.integration, s.f.allowNoWorker, s.stderr); err != nil {
					return nil, err
				}
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			}})
			if err != nil {
				return 0, err
			}
			return s.doneApplied("updated", applied)
		}},
	{name: "describe", integration: true,
		summary: "Shows the schedule's spec, state, recent and next runs.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			d, err := s.h.Describe(ctx)
			if err != nil {
				return 0, err
			}
			return printSchedule(ctx, s, d), nil
		}},
	{name: "list",
		summary: "Lists every sync schedule.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			return scheduleList(ctx, s.sc, s.c, s.stdout, s.stderr), nil
		}},
	{name: "pause", integration: true, note: true,
		summary: "Pauses the schedule (running syncs go on).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Pause(ctx, client.SchedulePauseOptions{Note: noteOr(s.f.note, "paused with starter")}); err != nil {
				return 0, err
			}
			return s.done("paused schedule %s", s.id)
		}},
	{name: "unpause", integration: true, note: true,
		summary: "Resumes the schedule.",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Unpause(ctx, client.ScheduleUnpauseOptions{Note: noteOr(s.f.note, "unpaused with starter")}); err != nil {
				return 0, err
			}
			return s.done("unpaused schedule %s", s.id)
		}},
	{name: "trigger", integration: true,
		summary: "Starts one sync now, as the schedule would (its overlap policy applies).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
				return 0, err
			}
			return s.done("triggered schedule %s: watch it with `starter status --integration %s`", s.id, s.c.integration)
		}},
	{name: "delete", integration: true,
		summary: "Deletes the schedule (running syncs go on).",
		do: func(ctx context.Context, s *scheduleRun) (int, error) {
			if err := s.h.Delete(ctx); err != nil {
				return 0, err
			}
			return s.done("deleted schedule %s", s.id)
		}},
}

// scheduleActionNames is "create|update|...", for messages.
func scheduleActionNames() string {
	names := make([]string, len(scheduleActions))
	for i, a := range scheduleActions {
		names[i] = a.name
	}
	return strings.Join(names, "|")
}

func cmdSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := scheduleActionNames()
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: starter schedule %s [flags]\n\nManages the schedule that syncs an integration periodically (id jcsync-<name>).\n\nExamples:\n%s\nRun 'starter schedule <action> --help' for the flags.\n", sub, scheduleExamples)
			return exitOK
		}
		fmt.Fprintf(stderr, "starter schedule: want an action: %s\n", sub)
		return exitUsage
	}
	var action *scheduleAction
	for i := range scheduleActions {
		if scheduleActions[i].name == args[0] {
			action = &scheduleActions[i]
		}
	}
	if action == nil {
		fmt.Fprintf(stderr, "starter schedule: unknown action %q: want %s\n", args[0], sub)
		return exitUsage
	}
	s := &scheduleRun{c: &common{}, stdout: stdout, stderr: stderr}
	fs := newFlags("schedule "+action.name, action.summary, scheduleExamples, s.c, stderr)
	addScheduleFlags(fs, action, s)
	if code, done := parse(fs, args[1:], s.c, stderr); done {
		return code
	}
	if code, ok := checkScheduleFlags(s.f, fs.Changed, stderr); !ok {
		return code
	}
	tc, err := dial(ctx, s.c, stderr)
	if err != nil {
		return fail(stderr, "schedule", err)
	}
	defer tc.Close()
	if action.startsSyncs {
		if err := requireSearchAttributes(ctx, tc, s.c, "schedule "+action.name, stderr); err != nil {
			return fail(stderr, "schedule "+action.name, err)
		}
	}
	s.changed, s.tc, s.sc, s.id = fs.Changed, tc, tc.ScheduleClient(), temporalnames.ScheduleID(s.c.integration)
	s.h = s.sc.GetHandle(ctx, s.id)
	code, err := action.do(ctx, s)
	if err != nil {
		var nf *serviceerror.NotFound
		if errors.As(err, &nf) {
			err = fmt.Errorf("no schedule %s (create it with `starter schedule create --integration %s`)", s.id, s.c.integration)
		}
		err = withCodecHint(err)
		var exists *serviceerror.WorkflowExecutionAlreadyStarted
		if errors.Is(err, temporal.ErrScheduleAlreadyRunning) || errors.As(err, &exists) {
			err = fmt.Errorf("schedule %s already exists: change it with `starter schedule update --integration %s`", s.id, s.c.integration)
		}
		return fail(stderr, "schedule "+action.name, err)
	}
	return code
}

// addScheduleFlags adds the flags action takes.
func addScheduleFlags(fs *pflag.FlagSet, action *scheduleAction, s *scheduleRun) {
	f := &s.f
	if action.integration {
		addIntegration(fs, s.c)
	}
	if action.timing {
		fs.DurationVar(&f.every, "every", 0, "interval between syncs, e.g. 6h (default 6h when --cron is not given)")
		fs.StringVar(&f.cron, "cron", "", `cron expression instead of --every (minute hour day-of-month month day-of-week), e.g. "0 2 * * *"`)
		fs.StringVar(&f.timeZone, "time-zone", "", "IANA time zone the --cron times are in, e.g. Europe/Berlin (default UTC)")
		fs.DurationVar(&f.jitter, "jitter", 0, "random delay up to this much, so many integrations do not start at once")
		fs.DurationVar(&f.catchupWindow, "catchup-window", 0, "how late a run missed while Temporal was down may still start; older ones are dropped (default: the --every interval, 1h for --cron)")
		fs.BoolVar(&f.pauseOnFailure, "pause-on-failure", false, "pause the schedule when a sync fails for a reason that lasts (a rejected credential, the configuration); outages and timeouts do not pause it")
		fs.StringVar(&f.overlap, "overlap", "skip", "what to do when the previous sync still runs: "+overlapNames()+" ("+strings.Join(refusedOverlapNames(), " and ")+" are refused: they would cancel the running sync)")
		fs.BoolVar(&f.dryRun, "dry-run", false, "scheduled syncs are dry runs")
		fs.DurationVar(&f.sweepMargin, "sweep-margin", 0, "how far before its first Authomize write each sync's sweep cutoff lies (default 2m)")
		fs.IntVar(&f.maxRejected, "max-rejected", 0, maxRejectedUsage)
		fs.DurationVar(&f.phaseDeadline, "phase-deadline", 0, phaseDeadlineUsage)
		fs.BoolVar(&f.allowNoWorker, "allow-no-worker", false, "set the schedule even when no running worker holds the integration (a fresh install, before its workers start); its runs wait until one does")
	}
	if action.note {
		fs.StringVar(&f.note, "note", "", "note kept with the schedule (why it was paused, ...)")
	}
	addOutput(fs, s.c)
}

// checkScheduleFlags reports flags that contradict each other or that Temporal would refuse
// or silently ignore; ok is false when the command should end with code.
func checkScheduleFlags(f scheduleFlags, changed func(string) bool, stderr io.Writer) (code int, ok bool) {
	usage := func(format string, args ...any) (int, bool) {
		fmt.Fprintf(stderr, "starter schedule: "+format+"\n", args...)
		return exitUsage, false
	}
	if f.every != 0 && f.cron != "" {
		return usage("give --every or --cron, not both")
	}
	if f.every != 0 && f.timeZone != "" {
		return usage("--time-zone applies to --cron: --every %s counts from the Unix epoch and has no time zone", f.every)
	}
	if err := checkCron(f.cron); err != nil {
		return usage("--cron %q: %v", f.cron, err)
	}
	if err := checkTimeZone(f.timeZone); err != nil {
		return usage("--time-zone %q: %v", f.timeZone, err)
	}
	if changed("catchup-window") && f.catchupWindow != 0 && f.catchupWindow < minCatchupWindow {
		return usage("--catchup-window %s: want at least %s (Temporal's least), or 0 for the default", f.catchupWindow, minCatchupWindow)
	}
	if changed("sweep-margin") && f.sweepMargin <= 0 {
		// A sync takes a margin of 0 or less as the default: refused, not silently replaced.
		return usage("--sweep-margin %s: want more than 0 (the default is %s)", f.sweepMargin, activities.DefaultSweepMargin)
	}
	if p, known := overlapPolicies[f.overlap]; f.overlap != "" && !known {
		fmt.Fprintf(stderr, "starter schedule: --overlap %q: want one of %s\n", f.overlap, overlapNames())
		return exitUsage, false
	} else if known && overlapRefused(p) {
		fmt.Fprintf(stderr, "starter schedule: --overlap %s is refused: %s. Use one of %s\n", f.overlap, overlapRefusedWhy, overlapNames())
		return exitUsage, false
	}
	if f.every < 0 || f.jitter < 0 || f.maxRejected < 0 || f.phaseDeadline < 0 {
		return usage("--every, --jitter, --max-rejected and --phase-deadline must not be negative")
	}
	return 0, true
}

// checkCron refuses what a cron expression may carry that has a flag of its own.
func checkCron(cron string) error {
	c := strings.TrimSpace(cron)
	switch {
	case cron != "" && c == "":
		return errors.New("empty")
	case strings.HasPrefix(c, "CRON_TZ=") || strings.HasPrefix(c, "TZ="):
		return errors.New("give the time zone with --time-zone, e.g. --time-zone Europe/Berlin")
	case strings.HasPrefix(c, "@every"):
		return errors.New("give an interval with --every, e.g. --every 6h")
	}
	return nil
}

// checkTimeZone accepts an IANA time zone name; empty means UTC. The starter carries its own
// copy of the zone database (time/tzdata), so the check does not depend on where it runs; the
// Temporal server loads the zone from its own.
func checkTimeZone(name string) error {
	if name == "" {
		return nil
	}
	if name == "Local" {
		return errors.New("name the zone (e.g. Europe/Berlin): Local is this machine's zone, which the Temporal server does not know")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return errors.New("not an IANA time zone name (like Europe/Berlin, America/New_York or UTC)")
	}
	return nil
}

// withCodecHint says what to do about a schedule whose payloads could not be decoded because
// they are encrypted and this starter has no keyring. The SDK decodes a schedule's summary
// and input before any code here sees them, and says only that the encoding is not supported.
func withCodecHint(err error) error {
	if err != nil && strings.Contains(err.Error(), codec.MetadataEncodingEncrypted) {
		return fmt.Errorf("%w (the schedule is encrypted: give the keyring the workers use, --codec-keys-file or %s)", err, codec.EnvKeys)
	}
	return err
}

func noteOr(note, def string) string {
	if note != "" {
		return note
	}
	return def
}
