package logging

import "os"

// lookupEnv is a variable so flag defaults stay testable without touching the process env.
var lookupEnv = os.Getenv
