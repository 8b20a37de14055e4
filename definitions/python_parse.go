package definitions

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file holds a small static reader for the subset of Python that Feast
// definition files are written in: module-level assignments of calls,
// literals, names and attribute accesses, imports, and decorated function
// definitions (whose decorator calls are read and whose bodies are kept as
// text). Nothing is executed. What falls outside the subset is kept as an
// opaque node or a skipped statement, so that the importer can report it
// with its file and line instead of dropping it.

type pyTokKind int

const (
	pyName pyTokKind = iota
	pyNumber
	pyString
	pyOp
	pyNewline
	pyEOF
)

type pyToken struct {
	kind       pyTokKind
	text       string // source text (names, numbers, operators)
	value      string // decoded value of a string token
	fstring    bool   // an f-string: its value is computed at run time
	line       int
	start, end int // byte offsets in the source
	indent     int // for the first token of a logical line: its column
	first      bool
}

// pyTokenize splits src into tokens. Newlines inside brackets and after a
// backslash do not end a logical line; comments are dropped.
func pyTokenize(src string) ([]pyToken, error) {
	var toks []pyToken
	line, depth, i := 1, 0, 0
	atLineStart, col := true, 0
	for i < len(src) {
		c := src[i]
		if atLineStart {
			col = 0
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				if src[j] == '\t' {
					col += 8 - col%8
				} else {
					col++
				}
				j++
			}
			i = j
			if i >= len(src) {
				break
			}
			c = src[i]
			if c == '\n' || c == '#' || c == '\r' {
				// blank or comment-only line
				if c == '#' {
					for i < len(src) && src[i] != '\n' {
						i++
					}
				}
				if i < len(src) && src[i] == '\r' {
					i++
				}
				if i < len(src) && src[i] == '\n' {
					i++
					line++
				}
				continue
			}
			atLineStart = false
		}
		first := len(toks) == 0 || toks[len(toks)-1].kind == pyNewline
		add := func(t pyToken) {
			t.first = first
			if t.first {
				t.indent = col
			}
			toks = append(toks, t)
		}
		switch {
		case c == '\n':
			if depth == 0 {
				toks = append(toks, pyToken{kind: pyNewline, line: line, start: i, end: i + 1})
				atLineStart = true
			}
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f':
			i++
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '\\' && i+1 < len(src) && (src[i+1] == '\n' || src[i+1] == '\r'):
			i++
			if src[i] == '\r' {
				i++
			}
			if i < len(src) && src[i] == '\n' {
				i++
			}
			line++
		case isPyStringStart(src, i):
			t, n, err := pyReadString(src, i, line)
			if err != nil {
				return nil, err
			}
			add(t)
			line += strings.Count(src[i:i+n], "\n")
			i += n
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			j := i
			for j < len(src) {
				r, size := utf8.DecodeRuneInString(src[j:])
				if r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) {
					j += size
					continue
				}
				break
			}
			if j == i { // a non-letter above 0x80
				j = i + 1
			}
			add(pyToken{kind: pyName, text: src[i:j], line: line, start: i, end: j})
			i = j
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i
			for j < len(src) && (isAlnum(src[j]) || src[j] == '.' || src[j] == '_' ||
				(src[j] == '+' || src[j] == '-') && (src[j-1] == 'e' || src[j-1] == 'E') && !strings.HasPrefix(strings.ToLower(src[i:j]), "0x")) {
				j++
			}
			add(pyToken{kind: pyNumber, text: src[i:j], line: line, start: i, end: j})
			i = j
		default:
			op := string(c)
			for _, long := range []string{"**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "==", "!=", "<=", ">=", "<<", ">>", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@="} {
				if strings.HasPrefix(src[i:], long) {
					op = long
					break
				}
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			add(pyToken{kind: pyOp, text: op, line: line, start: i, end: i + len(op)})
			i += len(op)
		}
	}
	if len(toks) > 0 && toks[len(toks)-1].kind != pyNewline {
		toks = append(toks, pyToken{kind: pyNewline, line: line, start: len(src), end: len(src)})
	}
	toks = append(toks, pyToken{kind: pyEOF, line: line, start: len(src), end: len(src)})
	return toks, nil
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// isPyStringStart reports whether a string literal (with an optional r, b,
// u, f prefix) starts at i.
func isPyStringStart(src string, i int) bool {
	j := i
	for j < len(src) && j-i < 2 && strings.ContainsRune("rRbBuUfF", rune(src[j])) {
		j++
	}
	if j < len(src) && (src[j] == '"' || src[j] == '\'') {
		if j > i && i > 0 && (isAlnum(src[i-1]) || src[i-1] == '_') {
			return false
		}
		return true
	}
	return false
}

// pyReadString reads the string literal at i, returning it and its length.
func pyReadString(src string, i, line int) (pyToken, int, error) {
	j := i
	prefix := ""
	for src[j] != '"' && src[j] != '\'' {
		prefix += strings.ToLower(string(src[j]))
		j++
	}
	q := src[j : j+1]
	if strings.HasPrefix(src[j:], q+q+q) {
		q = q + q + q
	}
	body := j + len(q)
	k := body
	for {
		if k >= len(src) {
			return pyToken{}, 0, fmt.Errorf("line %d: unterminated string", line)
		}
		if src[k] == '\\' {
			k += 2
			continue
		}
		if len(q) == 1 && src[k] == '\n' {
			return pyToken{}, 0, fmt.Errorf("line %d: unterminated string", line)
		}
		if strings.HasPrefix(src[k:], q) {
			break
		}
		k++
	}
	raw := src[body:k]
	end := k + len(q)
	t := pyToken{kind: pyString, text: src[i:end], line: line, start: i, end: end, fstring: strings.Contains(prefix, "f")}
	if strings.Contains(prefix, "r") {
		t.value = raw
	} else {
		t.value = pyUnescape(raw)
	}
	return t, end - i, nil
}

func pyUnescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case '\n':
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case '\\', '\'', '"':
			b.WriteByte(c)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
			if i+1+n <= len(s) {
				if v, err := strconv.ParseUint(s[i+1:i+1+n], 16, 32); err == nil {
					b.WriteRune(rune(v))
					i += n
					continue
				}
			}
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte('\\')
			b.WriteByte(c)
		}
	}
	return b.String()
}

// Expression nodes.

type pyNodeKind int

const (
	pnName pyNodeKind = iota
	pnNum
	pnStr
	pnList
	pnTuple
	pnDict
	pnCall
	pnAttr
	pnSubscript
	pnUnary
	pnBinOp
	pnOpaque
)

type pyKeyword struct {
	name string
	val  *pyNode
}

type pyNode struct {
	kind       pyNodeKind
	line       int
	start, end int
	s          string // name, number text, string value, attribute name, operator
	fstring    bool
	items      []*pyNode // elements; dict keys and values alternate; call positional args
	kw         []pyKeyword
	x, y       *pyNode
	reason     string // why an opaque node is not read
	srcText    string // the node's source
}

// setText fills srcText for n and its children.
func setText(src string, n *pyNode) {
	if n == nil {
		return
	}
	if n.start <= n.end && n.end <= len(src) {
		n.srcText = src[n.start:n.end]
	}
	for _, c := range n.items {
		setText(src, c)
	}
	for _, k := range n.kw {
		setText(src, k.val)
	}
	setText(src, n.x)
	setText(src, n.y)
}

// pyStmt is one module-level statement.
type pyStmt struct {
	line int
	// assignment: targets = value
	targets []string
	value   *pyNode
	// imports: local name -> module it comes from ("feast", "feast.types", ...)
	imports map[string]string
	// a decorated (or plain) function definition
	def        string
	decorators []*pyNode
	text       string // source of the definition, decorators included
	// skipped: why the statement is not read ("" when read or ignorable)
	skipped string
}

type pyParser struct {
	src  string
	toks []pyToken
	pos  int
}

// pyParseModule parses src into module-level statements.
func pyParseModule(src string) ([]pyStmt, error) {
	toks, err := pyTokenize(src)
	if err != nil {
		return nil, err
	}
	p := &pyParser{src: src, toks: toks}
	var out []pyStmt
	var decorators []*pyNode
	decoStart := -1
	for p.peek().kind != pyEOF {
		t := p.peek()
		if t.kind == pyNewline {
			p.pos++
			continue
		}
		if t.indent > 0 {
			// The body of a compound statement: skipped with its header.
			p.skipLine()
			continue
		}
		switch {
		case t.kind == pyOp && t.text == "@":
			if decoStart < 0 {
				decoStart = t.start
			}
			p.pos++
			decorators = append(decorators, p.expr())
			p.skipLine()
			continue
		case t.kind == pyName && (t.text == "def" || t.text == "async" || t.text == "class"):
			st := pyStmt{line: t.line, decorators: decorators}
			start := t.start
			if decoStart >= 0 {
				start = decoStart
			}
			if t.text == "async" {
				p.pos++
			}
			isClass := p.next().text == "class"
			if n := p.peek(); n.kind == pyName {
				st.def = n.text
			}
			p.skipLine()
			end := p.skipBlock()
			st.text = strings.TrimRight(src[lineStart(src, start):end], "\n ") + "\n"
			if isClass {
				st.skipped = "a class definition is not read"
				st.decorators = nil
				st.def = ""
			}
			out = append(out, st)
			decorators, decoStart = nil, -1
			continue
		}
		if len(decorators) > 0 {
			out = append(out, pyStmt{line: t.line, skipped: "a decorator not followed by a function definition is not read"})
			decorators, decoStart = nil, -1
		}
		out = append(out, p.statement())
	}
	for i := range out {
		setText(src, out[i].value)
		for _, d := range out[i].decorators {
			setText(src, d)
		}
	}
	return out, nil
}

func lineStart(src string, i int) int {
	for i > 0 && src[i-1] != '\n' {
		i--
	}
	return i
}

func (p *pyParser) peek() pyToken { return p.toks[p.pos] }
func (p *pyParser) peekAt(n int) pyToken {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}
func (p *pyParser) next() pyToken {
	t := p.toks[p.pos]
	if t.kind != pyEOF {
		p.pos++
	}
	return t
}
func (p *pyParser) isOp(s string) bool {
	t := p.peek()
	return t.kind == pyOp && t.text == s
}

// skipLine moves past the current logical line.
func (p *pyParser) skipLine() {
	for p.peek().kind != pyNewline && p.peek().kind != pyEOF {
		p.pos++
	}
	if p.peek().kind == pyNewline {
		p.pos++
	}
}

// skipBlock moves past the indented lines that follow and returns the
// byte offset where the block ends.
func (p *pyParser) skipBlock() int {
	end := p.toks[p.pos-1].end
	for {
		t := p.peek()
		if t.kind == pyNewline {
			p.pos++
			continue
		}
		if t.kind == pyEOF || t.indent == 0 {
			return end
		}
		p.skipLine()
		end = p.toks[p.pos-1].end
	}
}

func (p *pyParser) statement() pyStmt {
	t := p.peek()
	st := pyStmt{line: t.line}
	lineText := func() string {
		e := t.start
		for e < len(p.src) && p.src[e] != '\n' {
			e++
		}
		s := strings.TrimSpace(p.src[t.start:e])
		if len(s) > 60 {
			s = s[:57] + "..."
		}
		return s
	}
	if t.kind == pyName {
		switch t.text {
		case "import":
			p.pos++
			st.imports = map[string]string{}
			for p.peek().kind == pyName {
				mod := p.dotted()
				local := strings.SplitN(mod, ".", 2)[0]
				if p.peek().text == "as" {
					p.pos++
					local = p.next().text
					st.imports[local] = mod
				} else {
					st.imports[local] = local
				}
				if !p.isOp(",") {
					break
				}
				p.pos++
			}
			p.skipLine()
			return st
		case "from":
			p.pos++
			mod := ""
			for p.isOp(".") || p.isOp("...") {
				mod += p.next().text
			}
			if p.peek().kind == pyName && p.peek().text != "import" {
				mod += p.dotted()
			}
			st.imports = map[string]string{}
			if p.peek().text == "import" {
				p.pos++
				for p.peek().kind != pyNewline && p.peek().kind != pyEOF {
					n := p.next()
					if n.kind != pyName {
						continue
					}
					local := n.text
					if p.peek().text == "as" {
						p.pos++
						local = p.next().text
					}
					st.imports[local] = mod + "." + n.text
				}
			}
			p.skipLine()
			return st
		case "if":
			if strings.Contains(lineText(), "__name__") {
				p.skipLine()
				p.skipBlock()
				return st
			}
			fallthrough
		case "for", "while", "with", "try", "async":
			st.skipped = fmt.Sprintf("`%s` block is not read (only module-level assignments are)", t.text)
			p.skipLine()
			p.skipBlock()
			return st
		case "else", "elif", "except", "finally":
			p.skipLine()
			p.skipBlock()
			return st
		case "pass", "del", "global", "nonlocal", "assert", "raise", "return":
			if t.text != "pass" {
				st.skipped = fmt.Sprintf("statement `%s` is not read", lineText())
			}
			p.skipLine()
			return st
		}
	}
	// Assignment chain or expression statement.
	start := p.pos
	var targets []string
	for {
		save := p.pos
		if p.peek().kind == pyName && (p.peekAt(1).text == "=" || p.peekAt(1).text == ":" && p.peekAt(1).kind == pyOp) {
			name := p.next().text
			if p.isOp(":") { // annotation
				p.pos++
				p.expr()
				if !p.isOp("=") {
					p.skipLine()
					return st // a bare annotation
				}
			}
			p.pos++ // =
			targets = append(targets, name)
			continue
		}
		p.pos = save
		break
	}
	if len(targets) == 0 {
		// Not a simple `name = ...`: an expression statement, a tuple
		// target, an augmented assignment, ...
		e := p.expr()
		if e.kind == pnOpaque || p.peek().kind != pyNewline && p.peek().kind != pyEOF {
			p.pos = start
			st.skipped = fmt.Sprintf("statement `%s` is not read (only `name = expression` assignments are)", lineText())
			p.skipLine()
			return st
		}
		p.skipLine()
		if e.kind == pnStr || e.kind == pnName || e.kind == pnNum { // docstrings and the like
			return st
		}
		st.value = e // a bare expression: the importer decides
		return st
	}
	st.targets = targets
	st.value = p.expr()
	if p.peek().kind != pyNewline && p.peek().kind != pyEOF {
		st.value = &pyNode{kind: pnOpaque, line: st.value.line, start: st.value.start, reason: "expression not understood"}
		for p.peek().kind != pyNewline && p.peek().kind != pyEOF {
			p.pos++
		}
		st.value.end = p.toks[p.pos-1].end
		st.value.s = p.src[st.value.start:st.value.end]
	}
	p.skipLine()
	return st
}

func (p *pyParser) dotted() string {
	s := p.next().text
	for p.isOp(".") && p.peekAt(1).kind == pyName {
		p.pos++
		s += "." + p.next().text
	}
	return s
}

// isDelim reports whether t ends an expression at the current level.
func isDelim(t pyToken) bool {
	if t.kind == pyNewline || t.kind == pyEOF {
		return true
	}
	if t.kind == pyOp {
		switch t.text {
		case ",", ")", "]", "}", ":", "=":
			return true
		}
	}
	return false
}

// opaque skips to the end of the expression that started at token index
// from and returns it as an opaque node.
func (p *pyParser) opaque(from int, reason string) *pyNode {
	depth := 0
	for {
		t := p.peek()
		if t.kind == pyNewline || t.kind == pyEOF {
			break
		}
		if t.kind == pyOp {
			switch t.text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth == 0 {
					goto done
				}
				depth--
			case ",", ":", "=":
				if depth == 0 {
					goto done
				}
			}
		}
		p.pos++
	}
done:
	st := p.toks[from]
	end := st.end
	if p.pos > from {
		end = p.toks[p.pos-1].end
	}
	return &pyNode{kind: pnOpaque, line: st.line, start: st.start, end: end, s: p.src[st.start:end], reason: reason}
}

// expr parses one expression; anything outside the subset becomes opaque.
func (p *pyParser) expr() *pyNode {
	from := p.pos
	n := p.binary(0)
	if n.kind == pnOpaque {
		return n
	}
	t := p.peek()
	if !isDelim(t) {
		reason := "expression not understood"
		switch {
		case t.kind == pyName && t.text == "for":
			reason = "a comprehension is computed at run time"
		case t.kind == pyName && t.text == "if":
			reason = "a conditional expression is computed at run time"
		}
		p.pos = from
		return p.opaque(from, reason)
	}
	return n
}

var pyBinPrec = map[string]int{"or": 1, "and": 2, "|": 4, "^": 5, "&": 6, "<<": 7, ">>": 7, "+": 8, "-": 8, "*": 9, "/": 9, "//": 9, "%": 9, "@": 9, "**": 11,
	"==": 3, "!=": 3, "<": 3, ">": 3, "<=": 3, ">=": 3, "in": 3, "is": 3}

func (p *pyParser) binary(minPrec int) *pyNode {
	left := p.unary()
	if left.kind == pnOpaque {
		return left
	}
	for {
		t := p.peek()
		if t.kind != pyOp && t.kind != pyName {
			return left
		}
		prec, ok := pyBinPrec[t.text]
		if !ok || prec <= minPrec {
			return left
		}
		p.pos++
		right := p.binary(prec)
		left = &pyNode{kind: pnBinOp, line: left.line, start: left.start, end: right.end, s: t.text, x: left, y: right}
		if right.kind == pnOpaque {
			return left
		}
	}
}

func (p *pyParser) unary() *pyNode {
	t := p.peek()
	if t.kind == pyOp && (t.text == "-" || t.text == "+" || t.text == "~") || t.kind == pyName && t.text == "not" {
		p.pos++
		x := p.unary()
		return &pyNode{kind: pnUnary, line: t.line, start: t.start, end: x.end, s: t.text, x: x}
	}
	return p.postfix()
}

func (p *pyParser) postfix() *pyNode {
	from := p.pos
	n := p.primary()
	for n.kind != pnOpaque {
		switch {
		case p.isOp("."):
			p.pos++
			a := p.next()
			if a.kind != pyName {
				p.pos = from
				return p.opaque(from, "expression not understood")
			}
			n = &pyNode{kind: pnAttr, line: n.line, start: n.start, end: a.end, s: a.text, x: n}
		case p.isOp("("):
			p.pos++
			c := &pyNode{kind: pnCall, line: n.line, start: n.start, x: n}
			if !p.args(c, ")") {
				p.pos = from
				return p.opaque(from, "a comprehension or unpacking is computed at run time")
			}
			c.end = p.toks[p.pos-1].end
			n = c
		case p.isOp("["):
			p.pos++
			s := &pyNode{kind: pnSubscript, line: n.line, start: n.start, x: n}
			idx := p.expr()
			if !p.isOp("]") {
				p.pos = from
				return p.opaque(from, "a slice or subscript is computed at run time")
			}
			p.pos++
			s.items = []*pyNode{idx}
			s.end = p.toks[p.pos-1].end
			n = s
		default:
			return n
		}
	}
	return n
}

// args parses call arguments up to closer; false for comprehensions and
// argument unpacking.
func (p *pyParser) args(c *pyNode, closer string) bool {
	for !p.isOp(closer) {
		if p.peek().kind == pyEOF || p.peek().kind == pyNewline {
			return false
		}
		if p.isOp("*") || p.isOp("**") {
			return false
		}
		if p.peek().kind == pyName && p.peekAt(1).kind == pyOp && p.peekAt(1).text == "=" {
			name := p.next().text
			p.pos++
			c.kw = append(c.kw, pyKeyword{name, p.expr()})
		} else {
			e := p.expr()
			if p.peek().text == "for" {
				return false
			}
			c.items = append(c.items, e)
		}
		if p.isOp(",") {
			p.pos++
			continue
		}
		if !p.isOp(closer) {
			return false
		}
	}
	p.pos++
	return true
}

func (p *pyParser) primary() *pyNode {
	from := p.pos
	t := p.next()
	switch t.kind {
	case pyName:
		switch t.text {
		case "lambda":
			p.pos = from
			return p.opaque(from, "a lambda is computed at run time")
		case "yield", "await":
			p.pos = from
			return p.opaque(from, "expression not understood")
		}
		return &pyNode{kind: pnName, line: t.line, start: t.start, end: t.end, s: t.text}
	case pyNumber:
		return &pyNode{kind: pnNum, line: t.line, start: t.start, end: t.end, s: t.text}
	case pyString:
		n := &pyNode{kind: pnStr, line: t.line, start: t.start, end: t.end, s: t.value, fstring: t.fstring}
		for p.peek().kind == pyString { // implicit concatenation
			u := p.next()
			n.s += u.value
			n.fstring = n.fstring || u.fstring
			n.end = u.end
		}
		return n
	case pyOp:
		switch t.text {
		case "(", "[":
			closer := map[string]string{"(": ")", "[": "]"}[t.text]
			n := &pyNode{kind: pnList, line: t.line, start: t.start}
			if t.text == "(" {
				n.kind = pnTuple
			}
			comma := false
			for !p.isOp(closer) {
				if p.isOp("*") {
					p.pos = from
					return p.opaque(from, "unpacking is computed at run time")
				}
				e := p.expr()
				if e.kind == pnOpaque && e.reason == "a comprehension is computed at run time" {
					p.pos = from
					return p.opaque(from, e.reason)
				}
				n.items = append(n.items, e)
				if p.isOp(",") {
					comma = true
					p.pos++
					continue
				}
				if !p.isOp(closer) {
					p.pos = from
					return p.opaque(from, "expression not understood")
				}
			}
			p.pos++
			n.end = p.toks[p.pos-1].end
			if n.kind == pnTuple && len(n.items) == 1 && !comma {
				inner := n.items[0]
				return inner // parenthesized expression
			}
			return n
		case "{":
			n := &pyNode{kind: pnDict, line: t.line, start: t.start}
			for !p.isOp("}") {
				if p.isOp("**") {
					p.pos = from
					return p.opaque(from, "unpacking is computed at run time")
				}
				k := p.expr()
				if !p.isOp(":") {
					p.pos = from
					return p.opaque(from, "a set or comprehension is computed at run time")
				}
				p.pos++
				v := p.expr()
				if p.peek().text == "for" || k.kind == pnOpaque && k.reason != "expression not understood" && v.kind == pnOpaque {
					p.pos = from
					return p.opaque(from, "a comprehension is computed at run time")
				}
				n.items = append(n.items, k, v)
				if p.isOp(",") {
					p.pos++
					continue
				}
				if !p.isOp("}") {
					p.pos = from
					return p.opaque(from, "a comprehension is computed at run time")
				}
			}
			p.pos++
			n.end = p.toks[p.pos-1].end
			return n
		}
	}
	p.pos = from
	if isDelim(p.peek()) { // nothing to read (e.g. `x = )`)
		return &pyNode{kind: pnOpaque, line: t.line, start: t.start, end: t.start, reason: "expression not understood"}
	}
	return p.opaque(from, "expression not understood")
}
