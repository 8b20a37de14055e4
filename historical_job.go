package feast

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/feastgo/feast/model"
	"github.com/feastgo/feast/offline"
	"github.com/feastgo/feast/proto/feast/types"
	"github.com/feastgo/feast/transform"
	"github.com/feastgo/feast/values"
)

// HistoricalJob is a prepared training-data retrieval. Reading or writing it
// runs the point-in-time join (each call runs it again) and computes
// requested on-demand features on the joined rows. It is not safe for
// concurrent use and must be closed.
type HistoricalJob struct {
	job       offline.Job
	res       *resolvedFeatures
	fullNames bool
	progs     []odfvProgram
}

type odfvProgram struct {
	prog *transform.Program
	// inputCols maps each program input name to the result column holding it.
	inputCols map[string]string
	// outputs are the features to emit (index into prog.Features()) and their column names.
	outputs []int
	names   []string
}

// Summary describes a written result.
type Summary struct {
	Rows    int64
	Columns []ColumnSummary
}

// ColumnSummary counts nulls in one output column; Nulls is -1 when unknown.
type ColumnSummary struct {
	Name  string
	Nulls int64
}

func (j *HistoricalJob) prepare() error {
	for _, r := range j.res.odfvs {
		views := map[string]*model.FeatureView{}
		for _, v := range j.res.views {
			views[v.View.Name] = v.View
		}
		inputs := r.view.Inputs(func(n string) *model.FeatureView { return views[n] })
		prog, err := transform.Compile(r.view, inputs)
		if err != nil {
			return err
		}
		p := odfvProgram{prog: prog, inputCols: map[string]string{}}
		for _, in := range inputs {
			view, feat, isFeature := cut(in.Name)
			if isFeature {
				p.inputCols[in.Name] = columnName(view, feat, j.fullNames)
			} else {
				p.inputCols[in.Name] = in.Name
			}
		}
		name := r.view.Name
		if r.alias != "" {
			name = r.alias
		}
		for i, f := range prog.Features() {
			if len(r.features) == 0 || slices.Contains(r.features, f.Name) {
				p.outputs = append(p.outputs, i)
				p.names = append(p.names, columnName(name, f.Name, j.fullNames))
			}
		}
		j.progs = append(j.progs, p)
	}
	return nil
}

func cut(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			return s[:i], s[i+1:], true
		}
	}
	return "", s, false
}

// plain reports whether the offline result is the final result.
func (j *HistoricalJob) plain() bool { return len(j.progs) == 0 && len(j.res.hidden) == 0 }

// Columns are the output column names.
func (j *HistoricalJob) Columns() []string {
	var out []string
	for _, c := range j.job.Columns() {
		if !j.res.hidden[c] {
			out = append(out, c)
		}
	}
	for _, p := range j.progs {
		out = append(out, p.names...)
	}
	return out
}

// Reader streams the result as Arrow record batches in entity row order.
// The caller must Release it.
func (j *HistoricalJob) Reader(ctx context.Context) (array.RecordReader, error) {
	rdr, err := j.job.Reader(ctx)
	if err != nil {
		return nil, err
	}
	if j.plain() {
		return rdr, nil
	}
	return j.wrap(rdr)
}

// wrap appends on-demand columns to every batch and drops hidden inputs.
func (j *HistoricalJob) wrap(in array.RecordReader) (array.RecordReader, error) {
	schema := in.Schema()
	var fields []arrow.Field
	var keep []int
	for i, f := range schema.Fields() {
		if !j.res.hidden[f.Name] {
			fields = append(fields, f)
			keep = append(keep, i)
		}
	}
	for _, p := range j.progs {
		feats := p.prog.Features()
		for k, oi := range p.outputs {
			dt, err := values.ArrowType(feats[oi].Type)
			if err != nil {
				return nil, err
			}
			fields = append(fields, arrow.Field{Name: p.names[k], Type: dt, Nullable: true})
		}
	}
	out := arrow.NewSchema(fields, nil)
	// The transformed stream is produced lazily, one input batch at a time.
	return &odfvReader{job: j, in: in, schema: out, keep: keep, refs: 1}, nil
}

type odfvReader struct {
	job    *HistoricalJob
	in     array.RecordReader
	schema *arrow.Schema
	keep   []int
	cur    arrow.RecordBatch
	err    error
	refs   int64
}

func (r *odfvReader) Schema() *arrow.Schema { return r.schema }
func (r *odfvReader) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.in.Err()
}
func (r *odfvReader) Retain() { r.refs++ }
func (r *odfvReader) Release() {
	if r.refs--; r.refs > 0 {
		return
	}
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.in.Release()
}
func (r *odfvReader) Record() arrow.RecordBatch      { return r.cur }
func (r *odfvReader) RecordBatch() arrow.RecordBatch { return r.cur }

func (r *odfvReader) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.err != nil || !r.in.Next() {
		return false
	}
	rec := r.in.RecordBatch()
	n := int(rec.NumRows())
	cols := make([]arrow.Array, 0, len(r.schema.Fields()))
	for _, i := range r.keep {
		c := rec.Column(i)
		c.Retain()
		cols = append(cols, c)
	}
	release := func() {
		for _, c := range cols {
			c.Release()
		}
	}
	byName := map[string]int{}
	for i, f := range rec.Schema().Fields() {
		byName[f.Name] = i
	}
	for _, p := range r.job.progs {
		inputs := map[string][]*types.Value{}
		for _, in := range p.prog.Inputs() {
			colName := p.inputCols[in.Name]
			idx, ok := byName[colName]
			if !ok {
				release()
				r.err = fmt.Errorf("on demand feature view %s: input %s needs column %q in the joined rows (for request data, add it to the entity rows)", p.prog.Name(), in.Name, colName)
				return false
			}
			vs, err := values.ColumnFromArrow(rec.Column(idx), in.Type)
			if err != nil {
				release()
				r.err = fmt.Errorf("on demand feature view %s: input %s: %w", p.prog.Name(), in.Name, err)
				return false
			}
			inputs[in.Name] = vs
		}
		res, err := p.prog.EvalColumns(inputs, n)
		if err != nil {
			release()
			r.err = err
			return false
		}
		feats := p.prog.Features()
		for _, oi := range p.outputs {
			arr, err := values.ToArrow(memory.DefaultAllocator, feats[oi].Type, res[oi])
			if err != nil {
				release()
				r.err = err
				return false
			}
			cols = append(cols, arr)
		}
	}
	r.cur = array.NewRecordBatch(r.schema, cols, int64(n))
	release()
	return true
}

// WriteParquet writes the result to a Parquet file and summarizes it.
func (j *HistoricalJob) WriteParquet(ctx context.Context, path string) (Summary, error) {
	if j.plain() {
		if err := j.job.WriteParquet(ctx, path); err != nil {
			return Summary{}, err
		}
		return parquetSummary(path)
	}
	rdr, err := j.Reader(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer rdr.Release()
	f, err := os.Create(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(rdr.Schema(), f, parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy)), pqarrow.DefaultWriterProps())
	if err != nil {
		return Summary{}, err
	}
	sum := newSummary(rdr.Schema())
	for rdr.Next() {
		rec := rdr.RecordBatch()
		sum.add(rec)
		if err := w.WriteBuffered(rec); err != nil {
			w.Close()
			return Summary{}, err
		}
	}
	if err := rdr.Err(); err != nil {
		w.Close()
		return Summary{}, err
	}
	return *sum, w.Close()
}

// WriteCSV writes the result to a CSV file with a header and summarizes it.
func (j *HistoricalJob) WriteCSV(ctx context.Context, path string) (Summary, error) {
	rdr, err := j.Reader(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer rdr.Release()
	f, err := os.Create(path)
	if err != nil {
		return Summary{}, err
	}
	defer f.Close()
	w := csv.NewWriter(f, rdr.Schema(), csv.WithHeader(true), csv.WithNullWriter(""))
	sum := newSummary(rdr.Schema())
	for rdr.Next() {
		rec := rdr.RecordBatch()
		sum.add(rec)
		if err := w.Write(rec); err != nil {
			return Summary{}, err
		}
	}
	if err := rdr.Err(); err != nil {
		return Summary{}, err
	}
	if err := w.Flush(); err != nil {
		return Summary{}, err
	}
	return *sum, f.Sync()
}

// Close releases the job.
func (j *HistoricalJob) Close() error { return j.job.Close() }

func newSummary(s *arrow.Schema) *Summary {
	sum := &Summary{}
	for _, f := range s.Fields() {
		sum.Columns = append(sum.Columns, ColumnSummary{Name: f.Name})
	}
	return sum
}

func (s *Summary) add(rec arrow.RecordBatch) {
	s.Rows += rec.NumRows()
	for i := range s.Columns {
		s.Columns[i].Nulls += int64(rec.Column(i).NullN())
	}
}

// parquetSummary reads row and null counts from a Parquet file's footer.
func parquetSummary(path string) (Summary, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		return Summary{}, fmt.Errorf("read back %s: %w", path, err)
	}
	defer rdr.Close()
	md := rdr.MetaData()
	sum := Summary{Rows: md.NumRows}
	for c := 0; c < md.Schema.NumColumns(); c++ {
		cs := ColumnSummary{Name: md.Schema.Column(c).Name()}
		for g := 0; g < rdr.NumRowGroups(); g++ {
			cc, err := rdr.MetaData().RowGroup(g).ColumnChunk(c)
			if err != nil {
				cs.Nulls = -1
				break
			}
			st, err := cc.Statistics()
			if err != nil || st == nil || !st.HasNullCount() {
				cs.Nulls = -1
				break
			}
			cs.Nulls += st.NullCount()
		}
		sum.Columns = append(sum.Columns, cs)
	}
	return sum, nil
}
