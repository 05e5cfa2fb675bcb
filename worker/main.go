// Command worker is part of the JumpCloud → Authomize connector.
package main

import "fmt"

func main() { fmt.Println("worker: not built yet") }
