package progress

import workflowpb "go.temporal.io/api/workflow/v1"

// pendingActivity is the server's description of a running activity.
type pendingActivity = workflowpb.PendingActivityInfo
