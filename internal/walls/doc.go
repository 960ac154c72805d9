// Package walls holds no code: its test checks the import walls between
// orchard's packages (data flows one way, from capture and decode through the
// analyzer to the commands), so a shortcut that would tangle them fails CI.
package walls
