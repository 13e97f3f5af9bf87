"""A strict parser for the SQL the 3FS monitor schema uses (ClickHouse dialect subset).

Accepted statements: CREATE DATABASE, CREATE TABLE ... ENGINE = MergeTree-family
with PARTITION BY / ORDER BY / PRIMARY KEY / SAMPLE BY / TTL / SETTINGS, EXISTS
[TABLE], SHOW TABLES/DATABASES, SELECT <literal>. Anything else is a syntax
error, as are unknown types, codecs and identifiers, reported with
ClickHouse's error codes.
"""
import re


class SqlError(Exception):
    def __init__(self, code, name, msg):
        super().__init__(msg)
        self.code, self.name, self.msg = code, name, msg

    def text(self):
        return f"Code: {self.code}. DB::Exception: {self.msg}. ({self.name})"


def syntax(msg, tok=None):
    where = f" at position {tok[2] + 1} ('{tok[1]}')" if tok else " at end of query"
    return SqlError(62, "SYNTAX_ERROR", f"Syntax error: failed{where}: {msg}")


TOKEN_RE = re.compile(r"""
    (?P<ws>\s+) | (?P<c1>--[^\n]*) | (?P<c2>/\*.*?\*/) |
    (?P<str>'(?:[^'\\]|\\.|'')*') |
    (?P<qid>`[^`]*`|"[^"]*") |
    (?P<id>\d+[A-Za-z_][A-Za-z0-9_]*|[A-Za-z_][A-Za-z0-9_]*) |
    (?P<num>\d+(?:\.\d+)?) |
    (?P<op>[(),.;=+\-*/<>!%]|\[|\])
""", re.S | re.X)


def tokenize(sql):
    toks, pos = [], 0
    while pos < len(sql):
        m = TOKEN_RE.match(sql, pos)
        if not m:
            raise syntax("unrecognized token", ("err", sql[pos:pos + 10], pos))
        kind = m.lastgroup
        if kind not in ("ws", "c1", "c2"):
            text = m.group()
            if kind == "qid":
                kind, text = "id", text[1:-1]
            toks.append((kind, text, pos))
        pos = m.end()
    return toks


def split_statements(sql):
    """Split a script into statement texts on top-level ';'."""
    out, start = [], 0
    for kind, text, pos in tokenize(sql):
        if kind == "op" and text == ";":
            out.append(sql[start:pos])
            start = pos + 1
    out.append(sql[start:])
    return [s for s in out if tokenize(s)]


INT_TYPES = {f"{p}Int{n}" for p in ("", "U") for n in (8, 16, 32, 64, 128, 256)}
SIMPLE_TYPES = INT_TYPES | {"Float32", "Float64", "String", "Date", "Date32", "DateTime", "Bool",
                            "UUID", "IPv4", "IPv6", "BFloat16"}
ALIASES = {"INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "TEXT", "VARCHAR", "DOUBLE",
           "FLOAT", "BOOLEAN", "TIMESTAMP"}
WRAPPERS = {"Nullable": 1, "LowCardinality": 1, "Array": 1, "Map": 2}
PARAM_TYPES = {"FixedString", "DateTime64", "DateTime", "Decimal", "Decimal32", "Decimal64",
               "Decimal128", "Decimal256"}
CODECS = {"NONE", "LZ4", "LZ4HC", "ZSTD", "Delta", "DoubleDelta", "Gorilla", "T64", "FPC", "GCD"}
ENGINES = {"MergeTree", "ReplacingMergeTree", "SummingMergeTree", "AggregatingMergeTree",
           "CollapsingMergeTree", "VersionedCollapsingMergeTree", "ReplicatedMergeTree", "Log",
           "TinyLog", "Memory"}
CLAUSES = {"PARTITION", "ORDER", "PRIMARY", "SAMPLE", "TTL", "SETTINGS"}
EXPR_WORDS = {"INTERVAL", "SECOND", "MINUTE", "HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR",
              "AND", "OR", "NOT", "DELETE", "TO", "DISK", "VOLUME", "IS", "NULL", "IN", "TRUE",
              "FALSE", "RECOMPRESS", "CODEC", "GROUP", "BY", "WHERE", "SET"}


class Parser:
    def __init__(self, sql):
        self.toks, self.i = tokenize(sql), 0

    def peek(self, k=0):
        j = self.i + k
        return self.toks[j] if j < len(self.toks) else None

    def word(self, k=0):
        t = self.peek(k)
        return t[1].upper() if t and t[0] == "id" else None

    def take(self):
        t = self.peek()
        if t is None:
            raise syntax("unexpected end of query")
        self.i += 1
        return t

    def expect_word(self, w):
        t = self.take()
        if t[0] != "id" or t[1].upper() != w:
            raise syntax(f"expected {w}", t)

    def expect_op(self, op):
        t = self.take()
        if t[0] != "op" or t[1] != op:
            raise syntax(f"expected '{op}'", t)

    def at_op(self, op):
        t = self.peek()
        return t is not None and t[0] == "op" and t[1] == op

    def ident(self):
        t = self.take()
        if t[0] != "id":
            raise syntax("expected identifier", t)
        return t[1]

    def done(self):
        if self.peek() is not None:
            raise syntax("unexpected tokens after the statement", self.peek())

    def if_not_exists(self):
        if self.word() == "IF":
            self.take()
            self.expect_word("NOT")
            self.expect_word("EXISTS")
            return True
        return False

    def qualified(self):
        a = self.ident()
        if self.at_op("."):
            self.take()
            return a, self.ident()
        return None, a

    # ------------------------------------------------------------ statements
    def statement(self):
        w = self.word()
        if w == "CREATE":
            self.take()
            w2 = self.word()
            if w2 == "DATABASE":
                self.take()
                return self.create_database()
            if w2 == "TABLE":
                self.take()
                return self.create_table()
            raise syntax("expected DATABASE or TABLE after CREATE", self.peek())
        if w == "EXISTS":
            self.take()
            if self.word() == "TABLE":
                self.take()
            db, name = self.qualified()
            self.done()
            return {"kind": "exists", "db": db, "table": name}
        if w == "SHOW":
            return self.show()
        if w == "SELECT":
            self.take()
            t = self.take()
            if t[0] not in ("num", "str"):
                raise syntax("only SELECT <literal> is supported", t)
            self.done()
            return {"kind": "select", "value": t[1].strip("'")}
        raise syntax("expected one of: CREATE, EXISTS, SHOW, SELECT", self.peek())

    def show(self):
        self.take()
        w = self.word()
        self.take()
        if w == "DATABASES":
            self.done()
            return {"kind": "show_databases"}
        if w != "TABLES":
            raise syntax("expected TABLES or DATABASES", self.peek(-1))
        db = None
        if self.word() in ("FROM", "IN"):
            self.take()
            db = self.ident()
        self.done()
        return {"kind": "show_tables", "db": db}

    def create_database(self):
        ine = self.if_not_exists()
        name = self.ident()
        engine = None
        if self.word() == "ENGINE":
            self.take()
            self.expect_op("=")
            engine = self.ident()
            if self.at_op("("):
                self.balanced()
        self.done()
        return {"kind": "create_database", "name": name, "if_not_exists": ine, "engine": engine}

    def create_table(self):
        ine = self.if_not_exists()
        db, name = self.qualified()
        self.expect_op("(")
        cols = [self.column()]
        while self.at_op(","):
            self.take()
            cols.append(self.column())
        self.expect_op(")")
        names = [c["name"] for c in cols]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise SqlError(15, "DUPLICATE_COLUMN", f"Column {sorted(dup)[0]} already exists")
        self.expect_word("ENGINE")
        self.expect_op("=")
        engine = self.ident()
        if engine not in ENGINES:
            raise SqlError(56, "UNKNOWN_STORAGE", f"Unknown table engine {engine}")
        if self.at_op("("):
            self.balanced()
        clauses = self.clauses(set(names))
        if engine.endswith("MergeTree") and "ORDER" not in clauses and "PRIMARY" not in clauses:
            raise SqlError(42, "NUMBER_OF_ARGUMENTS_DOESNT_MATCH",
                           "Storage MergeTree requires ORDER BY or PRIMARY KEY clause")
        self.done()
        return {"kind": "create_table", "db": db, "name": name, "if_not_exists": ine,
                "columns": cols, "engine": engine}

    def column(self):
        name = self.ident()
        ctype = self.type_expr()
        col = {"name": name, "type": ctype}
        while self.word() in ("DEFAULT", "MATERIALIZED", "ALIAS", "CODEC", "COMMENT", "TTL"):
            w = self.word()
            self.take()
            if w == "CODEC":
                self.codecs()
            elif w == "COMMENT":
                t = self.take()
                if t[0] != "str":
                    raise syntax("expected a string after COMMENT", t)
            else:
                self.expr_until({",", ")"}, set(), stop_words={"CODEC", "COMMENT"})
        return col

    def type_expr(self):
        t = self.take()
        if t[0] != "id":
            raise syntax("expected a data type", t)
        name = t[1]
        if name in WRAPPERS:
            self.expect_op("(")
            inner = [self.type_expr()]
            while self.at_op(","):
                self.take()
                inner.append(self.type_expr())
            self.expect_op(")")
            if len(inner) != WRAPPERS[name]:
                raise SqlError(42, "NUMBER_OF_ARGUMENTS_DOESNT_MATCH",
                               f"{name} data type family must have {WRAPPERS[name]} argument(s)")
            return f"{name}({', '.join(inner)})"
        if name in PARAM_TYPES and self.at_op("("):
            args = self.balanced()
            return f"{name}({args})"
        if name in SIMPLE_TYPES or name.upper() in ALIASES:
            return name
        raise SqlError(50, "UNKNOWN_TYPE", f"Unknown data type family: {name}")

    def codecs(self):
        self.expect_op("(")
        while True:
            t = self.take()
            if t[0] != "id" or t[1] not in CODECS:
                raise SqlError(432, "UNKNOWN_CODEC", f"Unknown codec family code: {t[1]}")
            if self.at_op("("):
                args = self.balanced()
                if not re.fullmatch(r"\s*-?\d*\s*", args):
                    raise syntax(f"codec {t[1]} takes a numeric level", t)
            if self.at_op(","):
                self.take()
                continue
            self.expect_op(")")
            return

    def balanced(self):
        """Consume '( ... )' with nesting; return the inner text."""
        self.expect_op("(")
        depth, parts = 1, []
        while True:
            t = self.take()
            if t[0] == "op" and t[1] == "(":
                depth += 1
            elif t[0] == "op" and t[1] == ")":
                depth -= 1
                if depth == 0:
                    return " ".join(parts)
            parts.append(t[1])

    def clauses(self, columns):
        seen = {}
        while self.peek() is not None:
            w = self.word()
            if w not in CLAUSES or w in seen:
                raise syntax("expected PARTITION BY, ORDER BY, PRIMARY KEY, SAMPLE BY, TTL "
                             "or SETTINGS", self.peek())
            self.take()
            if w in ("PARTITION", "ORDER", "SAMPLE"):
                self.expect_word("BY")
            elif w == "PRIMARY":
                self.expect_word("KEY")
            if w == "SETTINGS":
                self.settings()
                seen[w] = True
                continue
            self.expr_until(set(), columns, stop_words=CLAUSES)
            seen[w] = True
        return seen

    def settings(self):
        while True:
            self.ident()
            self.expect_op("=")
            t = self.take()
            if t[0] not in ("num", "str", "id"):
                raise syntax("expected a setting value", t)
            if not self.at_op(","):
                return
            self.take()

    def expr_until(self, stop_ops, columns, stop_words):
        """A balanced expression; identifiers that are not functions must be columns."""
        depth, count = 0, 0
        while self.peek() is not None:
            t = self.peek()
            if depth == 0 and ((t[0] == "op" and t[1] in stop_ops) or
                               (t[0] == "id" and t[1].upper() in stop_words)):
                break
            self.take()
            count += 1
            if t[0] == "op" and t[1] in "([":
                depth += 1
            elif t[0] == "op" and t[1] in ")]":
                depth -= 1
                if depth < 0:
                    raise syntax("unbalanced parenthesis", t)
            elif t[0] == "id" and columns and not self.at_op("(") and \
                    t[1].upper() not in EXPR_WORDS and t[1] not in columns:
                raise SqlError(47, "UNKNOWN_IDENTIFIER",
                               f"Missing columns: '{t[1]}' while processing query")
        if depth != 0:
            raise syntax("unbalanced parenthesis")
        if count == 0:
            raise syntax("expected an expression", self.peek())


def parse(sql):
    p = Parser(sql)
    if not p.toks:
        raise syntax("empty query")
    return p.statement()
