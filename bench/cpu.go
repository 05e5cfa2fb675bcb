package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
)

// cpuUse is the CPU time the stack's processes used, in seconds, by what they are: on one
// machine the simulators and Temporal compete with the workers, and a run that is CPU-bound
// cannot be faster than all of it divided by the cores.
type cpuUse struct {
	Workers    float64 `json:"workers"`
	Simulators float64 `json:"simulators"`
	Temporal   float64 `json:"temporal"`
}

func (c cpuUse) total() float64 { return c.Workers + c.Simulators + c.Temporal }

func (c cpuUse) minus(o cpuUse) cpuUse {
	return cpuUse{Workers: c.Workers - o.Workers, Simulators: c.Simulators - o.Simulators, Temporal: c.Temporal - o.Temporal}
}

// floor is the least wall time the CPU work allows on this machine's cores.
func (c cpuUse) floor() float64 { return c.total() / float64(runtime.NumCPU()) }

func (c cpuUse) String() string {
	return fmt.Sprintf("%.1f CPU-s (workers %.1f, simulators %.1f, Temporal %.1f)", c.total(), c.Workers, c.Simulators, c.Temporal)
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times: 100 on every
// architecture Go supports on Linux.
const clockTicks = 100

// cpu reads the stack's processes' CPU time so far from /proc; ok is false where there is no
// /proc (the figures are then left out, not made up).
func (st *stack) cpu() (c cpuUse, ok bool) {
	for _, p := range st.procs {
		if p.Process == nil {
			continue
		}
		s, err := procCPUSeconds(p.Process.Pid)
		if err != nil {
			return cpuUse{}, false
		}
		switch {
		case p == st.temporal:
			c.Temporal += s
		case slices.Contains(st.workers, p):
			c.Workers += s
		default:
			c.Simulators += s
		}
	}
	return c, true
}

// procCPUSeconds is a process's user and system time, from /proc/<pid>/stat.
func procCPUSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("process %d: unreadable stat %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("process %d: short stat %q", pid, s)
	}
	var ticks float64
	for _, v := range f[11:13] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("process %d: stat field %q: %w", pid, v, err)
		}
		ticks += float64(n)
	}
	return ticks / clockTicks, nil
}
