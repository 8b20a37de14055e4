// Package examples holds the demo feature repository that `feast init`
// writes, and the code that generates its data.
package examples

import "embed"

// DriverRanking is the demo repository template; {{PROJECT}} in its files
// is replaced with the project name.
//
//go:embed driver_ranking driver_ranking/.feastignore
var DriverRanking embed.FS
