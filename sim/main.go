// Command sim is part of the JumpCloud → Authomize connector.
package main

import "fmt"

func main() { fmt.Println("sim: not built yet") }
