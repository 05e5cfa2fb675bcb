package jumpcloud

import "time"

// SetServiceAccountClock replaces the clock a ServiceAccount judges expiry by.
func SetServiceAccountClock(s *ServiceAccount, now func() time.Time) { s.now = now }
