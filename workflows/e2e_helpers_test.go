package workflows_test

import (
	"fmt"

	"jcsync/internal/jumpcloud"
)

func jumpcloudUser(i int) jumpcloud.SystemUser {
	return jumpcloud.SystemUser{
		Username: fmt.Sprintf("added.user%d", i), Email: fmt.Sprintf("added.user%d@example.org", i),
		Firstname: "Added", Lastname: fmt.Sprintf("User %d", i), State: jumpcloud.StateActivated, Activated: true,
	}
}

func jumpcloudGroup(name string) jumpcloud.UserGroup {
	return jumpcloud.UserGroup{Name: name, MembershipMethod: "STATIC"}
}
