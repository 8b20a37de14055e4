package main

import "github.com/spf13/cobra"

// addLaterCommands registers the data commands (materialize, serve, ...).
func addLaterCommands(root *cobra.Command, g *globals) {
	root.AddCommand(newMaterializeCmd(g), newMaterializeIncrementalCmd(g), newServeCmd(g), newGetOnlineFeaturesCmd(g), newGetHistoricalFeaturesCmd(g), newStatusCmd(g), newStreamCmd(g))
	root.AddCommand(newUICmd(g))
}
