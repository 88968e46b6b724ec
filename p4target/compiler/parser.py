"""Recursive-descent parser for P4_16 declarations and statements."""

from __future__ import annotations

import copy
from dataclasses import fields, is_dataclass

from . import ast as A
from .diagnostics import CompileError, CompileWarning, Pos, warning
from .lexer import Token
from .parse_expr import ExprParser

#: Operators that may precede '=' in a compound assignment (``>>=`` lexes as '>' '>=').
COMPOUND_OPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", "|+|", "|-|")


def _has_call(node: object) -> bool:
    if isinstance(node, A.Call):
        return True
    if isinstance(node, list):
        return any(_has_call(x) for x in node)
    if is_dataclass(node) and isinstance(node, A.Node):
        return any(_has_call(getattr(node, f.name)) for f in fields(node))
    return False


TABLE_LIST_PROPS = {"key", "actions", "entries"}


class Parser(ExprParser):
    def __init__(self, tokens: list[Token]):
        super().__init__(tokens)
        self.type_names = {"packet_in", "packet_out"}
        #: uses of the project's extensions to P4_16 as p4c parses it (see ``extension``)
        self.warnings: list[CompileWarning] = []

    def extension(self, pos: Pos, what: str, instead: str) -> None:
        """Note a construct this compiler accepts but p4c does not (a warning, not an error)."""
        self.warnings.append(
            warning(pos, f"{what} is a cpn-p4 extension that p4c does not accept; {instead}")
        )

    # -- program ----------------------------------------------------------------------------------
    def program(self) -> A.Program:
        decls: list[A.Decl] = []
        start = self.tok.pos
        while not self.at("EOF"):
            if self.accept(";"):
                continue
            decls.append(self.declaration())
        return A.Program(start, decls)

    def declaration(self) -> A.Decl:
        annos = self.annotations()
        t = self.tok
        k = t.kind
        if k == "const":
            return self.const_decl(annos)
        if k in ("typedef", "type"):
            self.i += 1
            target = self.type_ref()
            name = self.ident("a type name")
            self.expect(";")
            self.type_names.add(name.text)
            return A.TypedefDecl(name.pos, name.text, annos, target, newtype=(k == "type"))
        if k in ("header", "struct", "header_union"):
            return self.struct_like(annos)
        if k == "enum":
            return self.enum_decl(annos)
        if k in ("error", "match_kind"):
            self.i += 1
            members = self.id_list()
            cls = A.ErrorDecl if k == "error" else A.MatchKindDecl
            return cls(t.pos, k, annos, members)
        if k == "extern":
            return self.extern_decl(annos)
        if k == "action":
            return self.action_decl(annos)
        if k == "parser":
            return self.parser_decl(annos)
        if k == "control":
            return self.control_decl(annos)
        if k == "package":
            self.i += 1
            name = self.ident()
            tparams = self.type_params()
            self.type_scopes.append(set(tparams))
            params = self.params()
            self.type_scopes.pop()
            self.expect(";")
            self.type_names.add(name.text)
            return A.BlockTypeDecl(name.pos, name.text, annos, "package", tparams, params)
        if self.starts_type() or k == "ID":
            return self.function_or_instance(annos)
        raise self.error("expected a declaration")

    def const_decl(self, annos: list[A.Annotation]) -> A.ConstDecl:
        self.expect("const")
        ctype = self.type_ref()
        name = self.ident()
        self.expect("=")
        value = self.expression()
        self.expect(";", "';'")
        return A.ConstDecl(name.pos, name.text, annos, ctype, value)

    def id_list(self) -> list[A.EnumMember]:
        self.expect("{")
        members: list[A.EnumMember] = []
        while not self.at("}"):
            annos = self.annotations()
            name = self.ident()
            members.append(A.EnumMember(name.pos, name.text, annos))
            if not self.accept(","):
                break
        self.expect("}", "'}'")
        return members

    def struct_like(self, annos: list[A.Annotation]) -> A.StructLikeDecl:
        kind = self.tok.kind
        self.i += 1
        name = self.ident()
        self.type_names.add(name.text)
        tparams = self.type_params()
        self.type_scopes.append(set(tparams))
        self.expect("{")
        fields: list[A.Field] = []
        while not self.at("}"):
            fannos = self.annotations()
            ftype = self.type_ref()
            fname = self.ident("a field name")
            self.expect(";", "';'")
            fields.append(A.Field(fname.pos, fname.text, fannos, ftype))
        self.expect("}")
        self.type_scopes.pop()
        return A.StructLikeDecl(name.pos, name.text, annos, kind, fields, tparams)

    def enum_decl(self, annos: list[A.Annotation]) -> A.EnumDecl:
        self.expect("enum")
        underlying = None
        if self.at("bit", "int") or (self.tok.kind == "ID" and self.peek().kind == "ID"):
            underlying = self.type_ref()
        name = self.ident()
        self.type_names.add(name.text)
        self.expect("{")
        members: list[A.EnumMember] = []
        while not self.at("}"):
            mannos = self.annotations()
            m = self.ident()
            value = None
            if self.accept("="):
                value = self.expression()
            members.append(A.EnumMember(m.pos, m.text, mannos, value))
            if not self.accept(","):
                break
        self.expect("}", "'}'")
        return A.EnumDecl(name.pos, name.text, annos, members, underlying)

    def type_params(self) -> list[str]:
        if not self.accept("<"):
            return []
        names = [self.ident("a type parameter").text]
        while self.accept(","):
            names.append(self.ident("a type parameter").text)
        self.expect(">")
        return names

    def params(self) -> list[A.Param]:
        self.expect("(")
        out: list[A.Param] = []
        if self.accept(")"):
            return out
        while True:
            annos = self.annotations()
            direction = ""
            if self.at("in", "out", "inout"):
                direction = self.tok.kind
                self.i += 1
            ptype = self.type_ref()
            name = self.ident("a parameter name")
            default = self.expression() if self.accept("=") else None
            out.append(A.Param(name.pos, name.text, annos, direction, ptype, default))
            if not self.accept(","):
                break
        self.expect(")", "')'")
        return out

    def extern_decl(self, annos: list[A.Annotation]) -> A.Decl:
        self.expect("extern")
        # extern object type: 'extern Name<T> {' ; extern function: 'extern Ret name<T>(...)'
        if self.tok.kind == "ID" and (
            self.peek().kind == "{" or (self.peek().kind == "<" and self._extern_object_ahead())
        ):
            name = self.ident()
            self.type_names.add(name.text)
            tparams = self.type_params()
            self.type_scopes.append(set(tparams))
            self.expect("{")
            methods: list[A.MethodDecl] = []
            while not self.at("}"):
                mannos = self.annotations()
                abstract = bool(self.accept("abstract"))
                if self.tok.kind == "ID" and self.tok.text == name.text and self.peek().kind == "(":
                    ctor = self.ident()
                    params = self.params()
                    self.expect(";")
                    methods.append(A.MethodDecl(ctor.pos, ctor.text, mannos, None, [], params))
                    continue
                ret = self.type_ref()
                mname = self.ident("a method name")
                mtparams = self.type_params()
                self.type_scopes.append(set(mtparams))
                params = self.params()
                self.type_scopes.pop()
                self.expect(";", "';'")
                methods.append(
                    A.MethodDecl(mname.pos, mname.text, mannos, ret, mtparams, params, abstract)
                )
            self.expect("}")
            self.type_scopes.pop()
            return A.ExternDecl(name.pos, name.text, annos, tparams, methods)
        # extern function: type params may be used in the return type
        saved = self.i
        pre_tparams = self._scan_function_type_params()
        self.type_scopes.append(set(pre_tparams))
        ret = self.type_ref()
        name = self.ident("a function name")
        tparams = self.type_params()
        params = self.params()
        self.type_scopes.pop()
        self.expect(";", "';'")
        del saved
        return A.FunctionDecl(name.pos, name.text, annos, ret, tparams, params, None)

    def _extern_object_ahead(self) -> bool:
        depth = 0
        j = self.i + 1
        while j < len(self.toks):
            k = self.toks[j].kind
            depth += k == "<"
            depth -= k == ">"
            if depth == 0:
                return self.toks[j + 1].kind == "{"
            j += 1
        return False

    def _scan_function_type_params(self) -> list[str]:
        """Find '<T, ...>' after the function name so the return type may use T."""
        j = self.i
        while j < len(self.toks) and self.toks[j].kind not in ("(", ";", "{"):
            j += 1
        k = j - 1
        if k >= 0 and self.toks[k].kind == ">":
            names: list[str] = []
            k -= 1
            while k >= 0 and self.toks[k].kind in ("ID", ","):
                if self.toks[k].kind == "ID":
                    names.append(self.toks[k].text)
                k -= 1
            if k >= 0 and self.toks[k].kind == "<":
                return names
        return []

    def function_or_instance(self, annos: list[A.Annotation]) -> A.Decl:
        pre = self._scan_function_type_params()
        self.type_scopes.append(set(pre))
        t = self.type_ref()
        self.type_scopes.pop()
        if self.at("("):
            args = self.arguments()
            name = self.ident("an instance name")
            self.expect(";", "';'")
            return A.Instance(name.pos, name.text, annos, t, args)
        name = self.ident("a name")
        tparams = self.type_params()
        self.type_scopes.append(set(tparams))
        params = self.params()
        body = self.block()
        self.type_scopes.pop()
        return A.FunctionDecl(name.pos, name.text, annos, t, tparams, params, body)

    def action_decl(self, annos: list[A.Annotation]) -> A.ActionDecl:
        self.expect("action")
        name = self.ident("an action name")
        params = self.params()
        body = self.block()
        return A.ActionDecl(name.pos, name.text, annos, params, body)

    # -- parsers ----------------------------------------------------------------------------------
    def parser_decl(self, annos: list[A.Annotation]) -> A.Decl:
        self.expect("parser")
        name = self.ident("a parser name")
        self.type_names.add(name.text)
        tparams = self.type_params()
        self.type_scopes.append(set(tparams))
        params = self.params()
        if self.accept(";"):
            self.type_scopes.pop()
            return A.BlockTypeDecl(name.pos, name.text, annos, "parser", tparams, params)
        ctor = self.params() if self.at("(") else []
        self.expect("{")
        locals_: list[A.Decl] = []
        states: list[A.StateDecl] = []
        while not self.at("}"):
            lannos = self.annotations()
            if self.at("state"):
                states.append(self.state_decl(lannos))
            else:
                locals_.append(self.local_decl(lannos))
        self.expect("}")
        self.type_scopes.pop()
        return A.ParserDecl(name.pos, name.text, annos, tparams, params, ctor, locals_, states)

    def state_decl(self, annos: list[A.Annotation]) -> A.StateDecl:
        self.expect("state")
        name = self.ident("a state name")
        self.expect("{")
        stmts: list[A.Stmt] = []
        transition = None
        while not self.at("}"):
            if self.at("transition"):
                transition = self.transition()
                break
            stmts.append(self.statement(in_parser=True))
        self.expect("}", "'}'")
        return A.StateDecl(name.pos, name.text, annos, stmts, transition)

    def transition(self) -> A.Transition:
        t = self.expect("transition")
        if self.at("select"):
            sel = self.expect("select")
            self.expect("(")
            keys = [self.expression()]
            while self.accept(","):
                keys.append(self.expression())
            self.expect(")")
            self.expect("{")
            cases: list[A.SelectCase] = []
            while not self.at("}"):
                cpos = self.tok.pos
                ks = self.keyset()
                keyset: A.Expr = ks[0] if len(ks) == 1 else A.ListExpr(cpos, ks)
                self.expect(":")
                st = self.ident("a state name")
                self.expect(";", "';'")
                cases.append(A.SelectCase(cpos, keyset, st.text, st.pos))
            self.expect("}")
            self.accept(";")
            return A.Transition(t.pos, A.Select(sel.pos, keys, cases))
        st = self.ident("a state name")
        self.expect(";", "';'")
        tr = A.Transition(t.pos, st.text)
        tr.target_pos = st.pos
        return tr

    def local_decl(self, annos: list[A.Annotation]) -> A.Decl:
        """A declaration inside a parser or control (before apply/states)."""
        if self.at("const"):
            return self.const_decl(annos)
        if self.at("action"):
            return self.action_decl(annos)
        if self.at("table"):
            return self.table_decl(annos)
        if self.at("value_set"):
            self.expect("value_set")
            self.expect("<")
            etype = self.type_args()[0]
            self.expect("(")
            size = self.expression()
            self.expect(")")
            name = self.ident()
            self.expect(";", "';'")
            return A.ValueSetDecl(name.pos, name.text, annos, etype, size)
        vtype = self.type_ref()
        if self.at("("):
            args = self.arguments()
            name = self.ident("an instance name")
            self.expect(";", "';'")
            return A.Instance(name.pos, name.text, annos, vtype, args)
        name = self.ident("a variable name")
        init = self.expression() if self.accept("=") else None
        self.expect(";", "';'")
        return A.VarDecl(name.pos, name.text, annos, vtype, init)

    # -- controls ---------------------------------------------------------------------------------
    def control_decl(self, annos: list[A.Annotation]) -> A.Decl:
        self.expect("control")
        name = self.ident("a control name")
        self.type_names.add(name.text)
        tparams = self.type_params()
        self.type_scopes.append(set(tparams))
        params = self.params()
        if self.accept(";"):
            self.type_scopes.pop()
            return A.BlockTypeDecl(name.pos, name.text, annos, "control", tparams, params)
        ctor = self.params() if self.at("(") else []
        self.expect("{")
        locals_: list[A.Decl] = []
        body = None
        while not self.at("}"):
            if self.at("apply"):
                self.i += 1
                body = self.block()
                continue
            lannos = self.annotations()
            locals_.append(self.local_decl(lannos))
        close = self.expect("}")
        self.type_scopes.pop()
        if body is None:
            from .diagnostics import CompileError

            raise CompileError.at(name.pos, f"control {name.text} has no apply block")
        del close
        return A.ControlDecl(name.pos, name.text, annos, tparams, params, ctor, locals_, body)

    def table_decl(self, annos: list[A.Annotation]) -> A.TableDecl:
        self.expect("table")
        name = self.ident("a table name")
        self.expect("{")
        props: list[A.TableProperty] = []
        while not self.at("}"):
            pannos = self.annotations()
            is_const = bool(self.accept("const"))
            ptok = self.ident("a table property")
            pname = ptok.text
            self.expect("=")
            if pname == "key":
                props.append(A.TableProperty(ptok.pos, pname, self.key_list(), is_const, pannos))
            elif pname == "actions":
                props.append(A.TableProperty(ptok.pos, pname, self.action_list(), is_const, pannos))
            elif pname == "entries":
                props.append(
                    A.TableProperty(ptok.pos, pname, self.entry_list(is_const), is_const, pannos)
                )
            else:
                value = self.expression()
                self.expect(";", "';'")
                props.append(A.TableProperty(ptok.pos, pname, value, is_const, pannos))
        self.expect("}")
        return A.TableDecl(name.pos, name.text, annos, props)

    def key_list(self) -> list[A.KeyElement]:
        self.expect("{")
        keys: list[A.KeyElement] = []
        while not self.at("}"):
            e = self.expression()
            self.expect(":")
            mk = self.ident("a match kind")
            kannos = self.annotations()
            self.expect(";", "';'")
            keys.append(A.KeyElement(e.pos, e, mk.text, mk.pos, kannos))
        self.expect("}")
        self.accept(";")
        return keys

    def action_list(self) -> list[A.ActionRef]:
        self.expect("{")
        refs: list[A.ActionRef] = []
        while not self.at("}"):
            annos = self.annotations()
            e = self.postfix(self.primary())
            self.expect(";", "';'")
            refs.append(A.ActionRef(e.pos, e, annos))
        self.expect("}")
        self.accept(";")
        return refs

    def entry_list(self, is_const: bool) -> list[A.Entry]:
        self.expect("{")
        entries: list[A.Entry] = []
        while not self.at("}"):
            annos = self.annotations()
            if annos:
                self.extension(
                    annos[0].pos,
                    "an annotation before an entry's keyset",
                    "put it after the action (`KEYS : ACTION(...) @ANNOTATION;`)",
                )
            entry_const = bool(self.accept("const")) or is_const
            priority = None
            pos = self.tok.pos
            if self.tok.kind == "ID" and self.tok.text == "priority" and self.peek().kind == "=":
                self.i += 2
                priority = self.expression()
                self.expect(":")
            keys = self.keyset()
            self.expect(":")
            action = self.postfix(self.primary())
            eannos = self.annotations()
            self.expect(";", "';'")
            entries.append(A.Entry(pos, keys, action, priority, annos + eannos, entry_const))
        self.expect("}")
        self.accept(";")
        return entries

    # -- statements ---------------------------------------------------------------------------------
    def block(self) -> A.Block:
        lb = self.expect("{", "'{'")
        stmts: list[A.Stmt] = []
        while not self.at("}"):
            if self.at("EOF"):
                raise self.error("expected '}'")
            stmts.append(self.statement())
        self.expect("}")
        return A.Block(lb.pos, stmts)

    def statement(self, in_parser: bool = False) -> A.Stmt:
        annos = self.annotations()
        t = self.tok
        k = t.kind
        if k == "{":
            b = self.block()
            b.annotations = annos
            return b
        if k == ";":
            self.i += 1
            return A.Empty(t.pos)
        if k == "if":
            self.i += 1
            self.expect("(")
            cond = self.expression()
            self.expect(")", "')'")
            then = self.statement(in_parser)
            other = self.statement(in_parser) if self.accept("else") else None
            return A.If(t.pos, cond, then, other)
        if k == "switch":
            return self.switch_stmt()
        if k == "exit":
            self.i += 1
            self.expect(";", "';'")
            return A.Exit(t.pos)
        if k == "return":
            self.i += 1
            value = None if self.at(";") else self.expression()
            self.expect(";", "';'")
            return A.Return(t.pos, value)
        if k == "const":
            return self.const_decl(annos)
        if self._starts_declaration():
            vtype = self.type_ref()
            if self.at("("):
                args = self.arguments()
                name = self.ident("an instance name")
                self.expect(";", "';'")
                return A.Instance(name.pos, name.text, annos, vtype, args)
            name = self.ident("a variable name")
            init = self.expression() if self.accept("=") else None
            self.expect(";", "';'")
            return A.VarDecl(name.pos, name.text, annos, vtype, init)
        compound = self._compound_assignment()
        if compound is not None:
            return compound
        lhs = self.expression()
        if self.at("="):
            self.expect("=")
            rhs = self.expression()
            self.expect(";", "';'")
            return A.Assign(lhs.pos, lhs, rhs)
        if isinstance(lhs, A.Call):
            self.expect(";", "';'")
            return A.CallStmt(lhs.pos, lhs)
        raise self.error("expected '=' or a method call")

    def _compound_assignment(self) -> A.Assign | None:
        """``lvalue op= expr;`` (as p4c accepts) as ``lvalue = lvalue op (expr);``, or None (and
        nothing consumed) when the statement is not one. The lvalue is a path, member, index or
        slice; an index with a call in it is refused, since it would be evaluated twice."""
        start = self.i
        if self.tok.kind not in ("ID", "."):
            return None
        try:
            lhs = self.postfix(self.primary())
        except CompileError:
            self.i = start
            return None
        op_tok = self.tok
        op = None
        if op_tok.kind in COMPOUND_OPS and self._adjacent(op_tok, "="):
            op, width = op_tok.kind, 2
        elif op_tok.kind == ">" and self._adjacent(op_tok, ">="):
            op, width = ">>", 2
        if op is None or isinstance(lhs, A.Call):
            self.i = start
            return None
        if _has_call(lhs):
            raise self.error(
                f"'{op}=' needs an lvalue without calls (it is read and written)", op_tok
            )
        self.extension(
            op_tok.pos,
            f"the compound assignment '{op}='",
            f"write `x = x {op} (e);`",
        )
        self.i += width
        rhs = self.expression()
        self.expect(";", "';'")
        return A.Assign(lhs.pos, lhs, A.Binary(op_tok.pos, op, copy.deepcopy(lhs), rhs))

    def _adjacent(self, tok: Token, kind: str) -> bool:
        nxt, p = self.peek(), tok.pos
        return (
            nxt.kind == kind
            and (nxt.pos.file, nxt.pos.line) == (p.file, p.line)
            and nxt.pos.col == p.col + len(tok.text)
        )

    def _starts_declaration(self) -> bool:
        t = self.tok
        if t.kind in ("bit", "int", "varbit", "bool", "error", "string", "tuple"):
            return not (t.kind == "error" and self.peek().kind == ".")
        if t.kind == "ID" and self.is_type_name(t.text):
            nxt = self.peek().kind
            return nxt in ("ID", "<", "[") or (nxt == "(" and False)
        return False

    def switch_stmt(self) -> A.Switch:
        t = self.expect("switch")
        self.expect("(")
        e = self.expression()
        self.expect(")")
        self.expect("{")
        cases: list[A.SwitchCase] = []
        while not self.at("}"):
            cpos = self.tok.pos
            if self.accept("default"):
                label: A.Expr | None = None
            else:
                label = self.expression()
            self.expect(":")
            body = self.block() if self.at("{") else None
            cases.append(A.SwitchCase(cpos, [label], body))
        self.expect("}")
        return A.Switch(t.pos, e, cases)


def parse(tokens: list[Token]) -> A.Program:
    return Parser(tokens).program()


__all__ = ["Parser", "parse", "Pos"]
