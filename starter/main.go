// Command starter is part of the JumpCloud → Authomize connector.
package main

import "fmt"

func main() { fmt.Println("starter: not built yet") }
