package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	feast "github.com/feastgo/feast"
	"github.com/feastgo/feast/diff"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/registry"
)

// allowDeleteUnmanagedHelp is the help of plan's and apply's
// --allow-delete-unmanaged.
const allowDeleteUnmanagedHelp = "let apply delete objects the repository does not define even when feast-go did not create them (no " +
	diff.ManagedByTag + " tag: Python Feast or another tool may own them)"

func newPlanCmd(g *globals) *cobra.Command {
	var exitCode, allowUnmanaged, skipSources bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what apply would change in the registry and the online store",
		Long: `Reads the definitions, validates them, and prints what "feast apply" would do,
object by object: created, updated (with each changed property, old -> new) and
deleted objects, then the online-store tables it would create or drop. Nothing is
written.

Deletions of objects feast-go did not create (they lack the feast-go/managed-by
tag) are marked: apply refuses them unless --allow-delete-unmanaged is passed.
A repository holding Feast Python definitions and no YAML definitions is refused.
A file source whose local file, glob or folder does not exist, or whose
s3://, gs:// or azblob:// path lists no object, is an error
(--skip-source-validation skips the check, e.g. where CI cannot reach the bucket).

In CI, use --exit-code to fail the step when there are changes (exit code 2).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			p, err := planAndPrint(cmd.Context(), g, fs, skipSources, allowUnmanaged)
			if err != nil {
				return err
			}
			if exitCode && p.HasChanges() {
				return &exitCodeError{code: 2}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&exitCode, "exit-code", false, "exit with status 2 when there are changes (for CI)")
	cmd.Flags().BoolVar(&allowUnmanaged, "allow-delete-unmanaged", false, allowDeleteUnmanagedHelp)
	cmd.Flags().BoolVar(&skipSources, "skip-source-validation", false, "do not check that file source paths exist (local files, and objects in s3://, gs://, azblob://)")
	cmd.Flags().Bool("skip-feature-view-validation", false, "accepted for Feast compatibility")
	return cmd
}

func newApplyCmd(g *globals) *cobra.Command {
	var allowUnmanaged, skipSources bool
	cmd := &cobra.Command{
		Use:   "apply",
		Short: "Apply the repository's definitions to the registry and the online store",
		Long: `Validates the definitions, prints the plan, creates online-store tables for new
feature views, commits every registry change in one atomic update, and deletes
objects (and their online tables) that were removed from the repository.

Apply deletes only objects feast-go created (they carry the tag
feast-go/managed-by: feast-go, which apply sets on every object it writes).
When objects of the project that the repository does not define were created
by Python Feast or another tool sharing the registry, apply fails before
changing anything unless --allow-delete-unmanaged is passed. A repository
holding Feast Python definitions and no YAML definitions is refused. A file
source whose local file, glob or folder does not exist, or whose object-store
path lists no object, is an error (--skip-source-validation skips the check).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			p, err := planAndPrint(cmd.Context(), g, fs, skipSources, allowUnmanaged)
			if err != nil {
				return err
			}
			if !p.HasChanges() {
				return nil
			}
			if err := fs.Apply(cmd.Context(), p, feast.ApplyOptions{AllowDeleteUnmanaged: allowUnmanaged}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Applied to project %s.\n", fs.Project())
			return nil
		},
	}
	cmd.Flags().BoolVar(&allowUnmanaged, "allow-delete-unmanaged", false, allowDeleteUnmanagedHelp)
	cmd.Flags().BoolVar(&skipSources, "skip-source-validation", false, "do not check that file source paths exist (local files, and objects in s3://, gs://, azblob://)")
	cmd.Flags().Bool("skip-feature-view-validation", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("no-progress", false, "accepted for Feast compatibility")
	cmd.Flags().Bool("no-promote", false, "accepted for Feast compatibility")
	return cmd
}

// planAndPrint is what feast plan and feast apply do before applying: plan
// the repository against the registry, check its source paths (unless
// skipped), then print the warnings and the plan.
func planAndPrint(ctx context.Context, g *globals, fs *feast.FeatureStore, skipSources, allowUnmanaged bool) (*feast.Plan, error) {
	p, err := fs.Plan(ctx)
	if err != nil {
		return nil, err
	}
	if !skipSources {
		if err := fs.CheckSourcePaths(ctx, p.Repo); err != nil {
			return nil, err
		}
	}
	printWarnings(g, p)
	printPlan(g.stdout, p, allowUnmanaged)
	return p, nil
}

// printWarnings prints a plan's warnings on stderr.
func printWarnings(g *globals, p *feast.Plan) {
	for _, w := range p.Warnings {
		fmt.Fprintln(g.stderr, "warning:", w)
	}
}

// printPlan prints a plan in Feast's format: one line per changed object,
// tab-indented property changes, then infrastructure changes. Deletions of
// objects feast-go did not create say so, and whether apply would refuse
// them (allowUnmanaged is --allow-delete-unmanaged).
func printPlan(out io.Writer, p *feast.Plan, allowUnmanaged bool) {
	changed := false
	for _, o := range p.Objects {
		if o.Action == diff.Unchanged || (o.Kind == registry.KindEntity && o.Name == model.DummyEntityName) {
			continue
		}
		changed = true
		code := map[diff.Action]string{diff.Create: "32", diff.Update: "33", diff.Delete: "31"}[o.Action]
		note := ""
		if o.Action == diff.Delete && o.Unmanaged {
			who := "not created by feast-go"
			if o.OtherRepo != "" {
				who = "applied from repository " + o.OtherRepo
			}
			note = " (" + who + ": apply refuses unless --allow-delete-unmanaged)"
			if allowUnmanaged {
				note = " (" + who + ": deleted because of --allow-delete-unmanaged)"
			}
		}
		fmt.Fprintf(out, "%s %s %s%s\n", color(out, code, string(o.Action)), o.Kind, color(out, "1", o.Name), note)
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
	var allowUnmanaged bool
	cmd := &cobra.Command{
		Use:   "teardown",
		Short: "Delete the project's online data and registry objects",
		Long: `Deletes the online-store data and every registry object of the project.

When the project holds objects feast-go did not create (objects, permissions
included, without the tag feast-go/managed-by: feast-go, or saved datasets,
validation references and label views, which feast-go never writes), teardown
fails before deleting anything unless --allow-delete-unmanaged is passed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer fs.Close()
			if err := fs.Teardown(cmd.Context(), feast.TeardownOptions{AllowDeleteUnmanaged: allowUnmanaged}); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "Tore down project %s.\n", fs.Project())
			return nil
		},
	}
	cmd.Flags().BoolVar(&allowUnmanaged, "allow-delete-unmanaged", false,
		"also delete objects feast-go did not create (Python Feast or another tool may own them)")
	return cmd
}
