package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/registry"
)

func newPlanCmd(g *globals) *cobra.Command {
	var exitCode bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in the registry and the online store",
		Long: `Reads the definitions, validates them, and prints what "feast apply" would do,
object by object: created, updated (with each changed property, old -> new) and
deleted objects, then the online-store tables it would create or drop. Nothing is
written.

In CI, use --exit-code to fail the step when there are changes (exit code 2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			p, err := fs.Plan(cmd.Context())
			if err != nil {
				return err
			}
			printPlan(g.stdout, p)
			if exitCode && p.HasChanges() {
				return &exitCodeError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 2 when there are changes (for CI)")
	cmd.Flags().Bool("skip-source-validation", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("skip-feature-view-validation", false, "accepted for Feast compatibility")
	return cmd
}

func newApplyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply the repository's definitions to the registry and the online store",
		Long: `Validates the definitions, prints the plan, creates online-store tables for new
feature views, commits every registry change in one atomic update, and deletes
objects (and their online tables) that were removed from the repository.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			p, err := fs.Plan(cmd.Context())
			if err != nil {
				return err
			}
			printPlan(g.stdout, p)
			if !p.HasChanges() {
				return nil
			}
			if err := fs.Apply(cmd.Context(), p); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Applied to project %s.\n", fs.Project())
			return nil
		},
	}
	cmd.Flags().Bool("skip-source-validation", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("skip-feature-view-validation", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("no-progress", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("no-promote", false, "accepted for Feast compatibility")
	return cmd
}

// printPlan prints a plan in Feast's format: one line per changed object,
// tab-indented property changes, then infrastructure changes.
func printPlan(out io.Writer, p *feast.Plan) {
	changed := false
	for _, o := range p.Objects {
		if o.Action == diff.Unchanged || (o.Kind == registry.KindEntity && o.Name == model.DummyEntityName) {
			continue
		}
		changed = true
		code := map[diff.Action]string{diff.Create: "32", diff.Update: "33", diff.Delete: "31"}[o.Action]
		fmt.Fprintf(out, "%s %s %s\n", color(out, code, string(o.Action)), o.Kind, color(out, "1", o.Name))
		for _, prop := range o.Properties {
			fmt.Fprintf(out, "\t%s: %s -> %s\n", prop.Path, prop.Old, prop.New)
		}
	}
	if !changed {
		fmt.Fprintln(out, "No changes to registry")
	}
	for _, d := range p.Infra {
		code := map[diff.Action]string{diff.Create: "32", diff.Delete: "31"}[d.Action]
		fmt.Fprintf(out, "%s %s\n", color(out, code, string(d.Action)), d.Name)
	}
	if len(p.Infra) == 0 {
		fmt.Fprintln(out, "No changes to infrastructure")
	}
}

func newTeardownCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "teardown",
		Short: "Delete the project's online data and registry objects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			if err := fs.Teardown(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Tore down project %s.\n", fs.Project())
			return nil
		},
	}
}
