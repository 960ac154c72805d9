//go:build !unix

package main

import "os"

// termWidth is 0 where the terminal's size is not known: the report is
// laid out for pipeWidth columns, or COLUMNS.
func termWidth(*os.File) int { return 0 }
