package feast

import (
	"context"
	"fmt"
	"time"

	"github.com/feastgo/feast/config"
	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/registry"
)

// HistoricalOptions tunes GetHistoricalFeatures.
type HistoricalOptions struct {
	// FullFeatureNames names feature columns view__feature.
	FullFeatureNames bool
	// Start and End bound entity-less retrieval (no entity rows): End
	// defaults to now, Start to End minus the largest ttl.
	Start, End time.Time
	// FilterByCreatedTimestamp also requires created timestamp <= entity time.
	FilterByCreatedTimestamp bool
}

// Features selects what to retrieve: feature references ("view:feature") or
// a feature service name (exactly one of the two).
type Features struct {
	Refs    []string
	Service string
}

// resolvedFeatures is a request resolved against a snapshot: the feature
// view projections to read and the on-demand views to compute after.
type resolvedFeatures struct {
	views []offline.ViewRequest
	// odfvs are the on-demand views requested, with the features wanted.
	odfvs []resolvedODFV
	// hidden are columns read only as on-demand inputs, dropped from the output.
	hidden map[string]bool
}

type resolvedODFV struct {
	view     *model.OnDemandFeatureView
	features []string
	alias    string
}

// resolveFeatures maps references or a service onto views, adding the
// inputs of requested on-demand views as hidden columns.
func resolveFeatures(snap *registry.Snapshot, f Features, fullNames bool) (*resolvedFeatures, error) {
	if (len(f.Refs) == 0) == (f.Service == "") {
		return nil, fmt.Errorf("give either feature references or a feature service")
	}
	type projection struct {
		view       string
		alias      string
		features   []string
		joinKeyMap map[string]string
	}
	var projs []projection
	if f.Service != "" {
		svc, ok := snap.FeatureServices[f.Service]
		if !ok {
			return nil, &registry.NotFoundError{Kind: "feature service", Name: f.Service, Project: snap.Project, Suggestions: config.Closest(f.Service, sortedNames(snap.FeatureServices), 3)}
		}
		for _, p := range svc.Projections {
			pr := projection{view: p.View, alias: p.Alias, joinKeyMap: p.JoinKeyMap}
			for _, fld := range p.Features {
				pr.features = append(pr.features, fld.Name)
			}
			projs = append(projs, pr)
		}
	} else {
		index := map[string]int{}
		for _, ref := range f.Refs {
			v, feat, err := snap.ResolveFeatureRef(ref)
			if err != nil {
				return nil, err
			}
			i, ok := index[v]
			if !ok {
				i = len(projs)
				index[v] = i
				projs = append(projs, projection{view: v})
			}
			projs[i].features = append(projs[i].features, feat)
		}
	}
	r := &resolvedFeatures{hidden: map[string]bool{}}
	wanted := map[string]map[string]bool{} // view -> features requested or needed
	viewIdx := map[string]int{}
	addView := func(p projection, hidden bool) {
		fv := snap.FeatureViews[p.view]
		key := p.view + "/" + p.alias
		i, ok := viewIdx[key]
		if !ok {
			i = len(r.views)
			viewIdx[key] = i
			r.views = append(r.views, offline.ViewRequest{View: fv, Alias: p.alias, JoinKeyMap: p.joinKeyMap})
			wanted[key] = map[string]bool{}
		}
		for _, feat := range p.features {
			if wanted[key][feat] {
				continue
			}
			wanted[key][feat] = true
			r.views[i].Features = append(r.views[i].Features, feat)
			if hidden {
				r.hidden[columnName(r.views[i].Name(), feat, fullNames)] = true
			}
		}
	}
	var odfvProjs []projection
	for _, p := range projs {
		if _, ok := snap.FeatureViews[p.view]; ok {
			addView(p, false)
			continue
		}
		if _, ok := snap.OnDemandViews[p.view]; ok {
			odfvProjs = append(odfvProjs, p)
			continue
		}
		return nil, &registry.NotFoundError{Kind: "feature view", Name: p.view, Project: snap.Project, Suggestions: config.Closest(p.view, snap.FeatureViewNames(), 3)}
	}
	for _, p := range odfvProjs {
		o := snap.OnDemandViews[p.view]
		if len(o.Features) > 0 && o.Features[0].Expression == "" {
			return nil, fmt.Errorf("on demand feature view %s has no CEL transformation this implementation can run", o.Name)
		}
		r.odfvs = append(r.odfvs, resolvedODFV{view: o, features: p.features, alias: p.alias})
		for _, src := range o.Sources {
			if src.FeatureView == "" {
				continue
			}
			fv, ok := snap.FeatureViews[src.FeatureView]
			if !ok {
				return nil, fmt.Errorf("on demand feature view %s reads feature view %s, which is not in the registry", o.Name, src.FeatureView)
			}
			feats := src.Features
			if len(feats) == 0 {
				for _, fld := range fv.Features {
					feats = append(feats, fld.Name)
				}
			}
			// Inputs already requested stay visible; the rest are hidden.
			key := fv.Name + "/"
			var need []string
			for _, ft := range feats {
				if wanted[key] == nil || !wanted[key][ft] {
					need = append(need, ft)
				}
			}
			addView(projection{view: fv.Name, features: need}, true)
		}
	}
	return r, nil
}

func columnName(view, feature string, full bool) string {
	if full {
		return view + "__" + feature
	}
	return feature
}

// GetHistoricalFeatures builds point-in-time correct training data: for
// every entity row at time T, the feature values known at T. Entities is an
// Arrow stream, a Parquet/CSV file, a SQL query (SQL offline stores), or
// zero for entity-less retrieval between opts.Start and opts.End.
func (fs *FeatureStore) GetHistoricalFeatures(ctx context.Context, entities offline.EntitySource, features Features, opts HistoricalOptions) (*HistoricalJob, error) {
	snap, err := fs.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	res, err := resolveFeatures(snap, features, opts.FullFeatureNames)
	if err != nil {
		return nil, err
	}
	store, err := fs.OfflineStore(ctx)
	if err != nil {
		return nil, err
	}
	job, err := store.GetHistoricalFeatures(ctx, offline.HistoricalRequest{
		Entities: entities, Views: res.views, FullFeatureNames: opts.FullFeatureNames,
		Start: opts.Start, End: opts.End, FilterByCreatedTimestamp: opts.FilterByCreatedTimestamp,
	})
	if err != nil {
		return nil, err
	}
	hj := &HistoricalJob{job: job, res: res, fullNames: opts.FullFeatureNames}
	if err := hj.prepare(); err != nil {
		job.Close()
		return nil, err
	}
	return hj, nil
}

// OfflineStore returns the offline store, opening it on first use.
func (fs *FeatureStore) OfflineStore(ctx context.Context) (offline.Store, error) {
	fs.offlineMu.Lock()
	defer fs.offlineMu.Unlock()
	if fs.offline != nil {
		return fs.offline, nil
	}
	s, err := openOffline(ctx, fs.cfg)
	if err != nil {
		return nil, err
	}
	fs.offline = s
	return s, nil
}
