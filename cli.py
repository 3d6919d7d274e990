"""The ``pathways`` command: a thin click front over the ``pathways`` and ``engine`` libraries.

Commands parse arguments, call one library function and format its result.
Errors from the libraries all derive from ``PathwaysError``; ``_Group.invoke``
is the one place that turns them into ``Error: ...`` on stderr with the
error's exit code (1 refused or a check failed, 2 usage or unreadable input),
so no user error ever shows a traceback. The engine (and so SQLAlchemy) is
imported only by the commands that need a database: ``--help`` and
``validate`` stay fast.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from pathways.errors import PathwaysError, UsageError

if TYPE_CHECKING:
    from engine import Engine
    from pathways import Pathway
    from pathways.city import City

DEFAULT_DB = "sqlite:///pathways.db"


class _Failure(click.ClickException):
    """A library error on its way out, keeping its exit code."""

    def __init__(self, error: PathwaysError) -> None:
        super().__init__(_term(error.message, keep_newlines=True))  # messages quote what was typed
        self.exit_code = error.exit_code


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PathwaysError as error:
            raise _Failure(error) from error
        except Exception as error:
            # The database can fail under us (a server gone, a lock held past the busy
            # timeout): one line, not a traceback. Only its own errors: bugs still show.
            db_errors = sys.modules.get("sqlalchemy.exc")
            if db_errors is not None and isinstance(error, db_errors.OperationalError):
                first = str(error.orig if getattr(error, "orig", None) else error).splitlines()[0]
                raise _Failure(PathwaysError(f"database error: {first}; nothing was changed")) from error
            raise


def _term(text: Any, *, keep_newlines: bool = False) -> str:
    """``text`` safe to print on a terminal: what cannot be seen is shown as an escape.

    Stored values may hold escape sequences (``\\x1b]0;...``, CSI colours) or bidi
    controls (``\\u202e``) from before values were checked, or quoted in an error
    message; printed raw they would retitle the terminal or reorder a line. Every
    character that is not printable (controls, bidi and zero-width format
    characters, separators) is written as its Python escape instead. For
    terminal text only: ``--json`` output keeps the exact values.
    """
    out = []
    for ch in str(text):
        if ch.isprintable() or (keep_newlines and ch == "\n"):
            out.append(ch)
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return "".join(out)


def _continued(label: str, text: Any) -> str:
    """``label`` then ``text``, its later lines indented under the first, each made safe by :func:`_term`.

    A multi-line rationale printed flush left could pass for separate entries.
    """
    pad = "\n" + " " * len(label)
    return label + pad.join(_term(line) for line in str(text).split("\n"))


def _json_escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"  # a surrogate pair


def _emit(data: Any) -> None:
    """JSON on stdout, values exact.

    json.dumps escapes C0 controls but leaves C1 controls and bidi and
    zero-width characters raw; they are written as ``\\u`` escapes too, which
    is the same JSON string (RFC 8259 section 7) and cannot act on a terminal.
    """
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    click.echo(re.sub(r"[^\x20-\x7e\n]", _json_escape, text))


def _refuse(message: str, code: int = 1) -> NoReturn:
    click.echo(_term(message, keep_newlines=True), err=True)
    sys.exit(code)


def _actor(value: str | None) -> str:
    """--as, else $PATHWAYS_ACTOR, else the login name (which a container may not have).

    A name that is given must be a name: ``--as ""`` or ``PATHWAYS_ACTOR=`` is a
    usage error, not a quiet fall-back to the login name (the record would name
    someone the user did not say), and names are one line of visible text.
    """
    from pathways.fields import FieldProblem, one_line_text

    source = "--as" if value is not None else "PATHWAYS_ACTOR"
    if value is None:
        value = os.environ.get("PATHWAYS_ACTOR")
    if value is None:
        try:
            return getpass.getuser()
        except (KeyError, OSError):
            raise UsageError("say who is acting: --as NAME, or set PATHWAYS_ACTOR") from None
    if not value.strip():
        raise UsageError(f"{source} is empty: say who is acting, e.g. --as ana")
    try:
        return one_line_text(source, value)
    except FieldProblem as problem:
        raise UsageError(str(problem)) from None


def _engine(ctx: click.Context, *, create: bool = False) -> Engine:
    """The engine on ``--db``. Only the commands that start a database (``users add``, ``publish``) pass
    ``create``: any other command on a database that does not exist exits 2 and leaves nothing behind."""
    from engine import Engine

    obj = ctx.find_root().obj
    if obj.get("engine") is None:
        # read when a letter or a deadline needs it (verify re-derives due times from the entries alone)
        obj["engine"] = Engine(obj["db"], create=create, city=lambda: _city(ctx))
        ctx.call_on_close(obj["engine"].close)
    return obj["engine"]


def _city(ctx: click.Context) -> City:
    """The city's settings, read once (times and amounts in text output are shown in its zone and currency)."""
    from pathways.city import load

    obj = ctx.find_root().obj
    if obj.get("city") is None:
        obj["city"] = load(obj.get("city_file"))
    return obj["city"]


def _pathway(ctx: click.Context, ref: str) -> Pathway:
    """A definition file, or else the latest published version of that id."""
    from pathways import load

    if Path(ref).is_file() or ref.endswith((".yaml", ".yml")):
        return load(ref)
    return _engine(ctx).pathway(ref)


def _pairs(values: tuple[str, ...], option: str = "--set") -> dict[str, str]:
    """``--set K=V`` options as a mapping; a field given twice or given nothing is a usage error.

    An empty value is never a value: ``--set vendor=`` would otherwise record
    an empty required field. To leave a field out, leave out its ``--set``.
    """
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{option} '{item}': write KEY=VALUE, e.g. {option} value=12000")
        if key in out:
            raise UsageError(f"{option} {key}: given twice; give each once")
        if not value.strip():
            raise UsageError(f"{option} {key}=: an empty value is not a value; give one (e.g. {option} {key}=...) "
                             f"or leave this {option} out")
        out[key] = value
    return out


as_option = click.option("--as", "actor", metavar="NAME",
                         help="Who is acting (default $PATHWAYS_ACTOR, else your login).")
json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="procurement-pathways", prog_name="pathways", message="%(prog)s %(version)s")
@click.option("--db", envvar="PATHWAYS_DB", default=DEFAULT_DB, show_default=True, metavar="URL",
              help="Database URL: sqlite:///FILE or postgresql://... (or $PATHWAYS_DB).")
@click.option("--city", "city_file", envvar="PATHWAYS_CITY", metavar="FILE",
              help="The city's settings (name, time zone, currency); default ./city.yaml, else Austin's.")
@click.pass_context
def cli(ctx: click.Context, db: str, city_file: str | None) -> None:
    """Run alternative procurement pathways with an audit trail legal can verify.

    \b
    Start here:   pathways demo
    Check a file: pathways validate definitions/
    """
    ctx.obj = {"db": db, "engine": None, "city_file": city_file, "city": None}


# --- definitions -------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@json_option
def validate(paths: tuple[str, ...], as_json: bool) -> None:
    """Check pathway definitions (files or folders) and report every problem.

    Problems print as PATH:LINE:COL: error|warning: message. Exit 1 if any
    error; 2 if a file could not be read at all (the others are still checked).

    \b
    Example: pathways validate definitions/
    """
    from pathways import Problem, check_file, expand
    from pathways.city import check as check_city
    from pathways.load import CITY_FILE

    problems: list[Problem] = []
    results = []
    unreadable = False

    def unusable(path: str, error: UsageError) -> None:  # reported as that path's problem; the rest go on
        nonlocal unreadable
        unreadable = True
        problems.append(Problem(path, 1, 1, "error", error.message.removeprefix(f"{path}: ")))

    cities = []
    for raw in paths:
        city = Path(raw) / CITY_FILE if Path(raw).is_dir() else Path(raw)
        if city.name == CITY_FILE and city.is_file():  # the city's settings: checked as such, not as a pathway
            settings, found = check_city(city.read_text(encoding="utf-8", errors="replace"), str(city))
            problems.extend(found)
            cities.append((city, settings))
            if not Path(raw).is_dir():
                continue
        try:
            files = expand([raw])
        except UsageError as error:
            if not cities or cities[-1][0].parent != Path(raw):
                unusable(raw, error)
            continue
        for path in files:
            try:
                pathway, found = check_file(path)
            except UsageError as error:
                unusable(str(path), error)
                continue
            problems.extend(found)
            results.append((path, pathway))
    errors = [p for p in problems if p.severity == "error"]
    if as_json:
        _emit([p.as_dict() for p in problems])
    else:
        for p in problems:
            click.echo(_term(p), err=True)
        for path, pathway in results:
            if pathway is not None:
                click.echo(f"ok  {path}  ({pathway.id} v{pathway.version}, {len(pathway.stages)} stages, "
                           f"sha256 {pathway.sha256[:12]})")
        for city, settings in cities:
            if settings is not None:  # the calendar's sha256 is what each deadline's entry records
                click.echo(f"ok  {city}  (the city's settings; calendar sha256 {settings.calendar.sha256[:12]})")
    warnings = len(problems) - len(errors)
    if not as_json:
        click.echo(f"{len(results) + len(cities)} file(s): {len(errors)} error(s), {warnings} warning(s)", err=True)
    if errors:
        sys.exit(2 if unreadable else 1)


@cli.command()
@click.argument("pathway", metavar="PATH|ID")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "dot"]), default="mermaid", show_default=True)
@click.pass_context
def graph(ctx: click.Context, pathway: str, fmt: str) -> None:
    """Draw a pathway as a Mermaid or Graphviz diagram.

    \b
    Example: pathways graph definitions/pilot.yaml > pilot.mmd
             pathways graph pilot --format dot | dot -Tsvg > pilot.svg
    """
    from pathways import graph as diagrams

    p = _pathway(ctx, pathway)
    click.echo(diagrams.mermaid(p) if fmt == "mermaid" else diagrams.dot(p), nl=False)


@cli.command()
def definitions() -> None:
    """Print the folder of the shipped pathway definitions (installed with the package).

    \b
    Example: pathways validate "$(pathways definitions)"
             cp "$(pathways definitions)/pilot.yaml" my-pilot.yaml
    """
    from pathways.resources import definitions_folder

    click.echo(str(definitions_folder()))


@cli.command()
@click.argument("pathway", metavar="PATH|ID")
@click.pass_context
def sample(ctx: click.Context, pathway: str) -> None:
    """Print a sample intake data file for a pathway, every field explained.

    PATH is a definition file; an ID is the version published in --db, or
    else the shipped definition of that id.

    \b
    Example: pathways sample pilot > proposal.yaml
             pathways intake pilot --data proposal.yaml --as ana
    """
    from pathways import load
    from pathways.resources import definitions as shipped
    from pathways.sample import sample as make

    try:
        p = _pathway(ctx, pathway)
    except UsageError:  # no database, or not published there: the shipped definition, if there is one
        candidate = shipped().joinpath(f"{pathway}.yaml")
        if not candidate.is_file():
            raise
        p = load(str(candidate))
    click.echo(make(p), nl=False)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of the pathway language (for editors).

    \b
    Example: pathways schema > pathway.schema.json
    """
    from pathways.structure import schema as language

    _emit(language())


@cli.command()
@click.argument("pathway", metavar="PATH|ID")
@json_option
@click.pass_context
def paths(ctx: click.Context, pathway: str, as_json: bool) -> None:
    """Show, for each final stage, a shortest way to reach it.

    Each step names the trigger, who may fire it, what it requires, and the
    field values its guards need (found by trying values against the guards).

    \b
    Example: pathways paths definitions/rfp.yaml
    """
    from pathways.paths import shortest_paths

    p = _pathway(ctx, pathway)
    routes = shortest_paths(p)
    if as_json:
        _emit([r.as_dict() for r in routes])
        return
    for r in routes:
        click.echo(f"{r.final} [{r.outcome}]: {len(r.steps)} step(s)")
        if r.intake:
            click.echo(f"  intake with: {json.dumps(r.intake, default=str)}")
        for s in r.steps:
            extra = f"  set {json.dumps(s.values, default=str)}" if s.values else ""
            needs = f"  requires {', '.join(s.requires)}" if s.requires else ""
            t = p.transition(s.source, s.trigger)
            who = f"when the opportunity fires '{t.on_parent}'" if t is not None and t.on_parent else \
                f"as {' | '.join(s.roles)}"
            click.echo(f"  {s.source} --{s.trigger}--> {s.dest}  {who}{needs}{extra}")
        if r.unsolved:
            click.echo(f"  (no values found for: {'; '.join(r.unsolved)})")


# --- engine ------------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@as_option
@json_option
@click.pass_context
def publish(ctx: click.Context, paths: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Store pathway versions so proposals can start on them.

    Every file is checked first and all are stored in one transaction: a
    folder with one bad file publishes nothing. The same content again is a
    no-op; the same id and version with other content is refused (raise
    'version' in the file to change the rules).

    \b
    Example: pathways publish definitions/ --as ana
    """
    from pathways import DefinitionError, check_file, expand

    files = expand(paths)
    checked = [(path, *check_file(path)) for path in files]
    problems = [p for _, pathway, found in checked if pathway is None for p in found]
    if problems:
        raise DefinitionError(problems)
    results = _engine(ctx, create=True).publish_all([pathway for _, pathway, _ in checked], actor=_actor(actor))
    out = []
    for path, (pathway, created) in zip(files, results, strict=True):
        out.append({"id": pathway.id, "version": pathway.version, "sha256": pathway.sha256, "published": created})
        if not as_json:
            what = "published" if created else "already published"
            click.echo(f"{what}  {pathway.id} v{pathway.version}  sha256 {pathway.sha256[:12]}  ({path})")
    if as_json:
        _emit(out)


@cli.group(cls=_Group)
def users() -> None:
    """Who may act, and in which roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role (repeat for several).")
@as_option
@click.pass_context
def users_add(ctx: click.Context, name: str, roles: tuple[str, ...], actor: str | None) -> None:
    """Add a user, or give an existing user more roles.

    The first user also gets the built-in 'admin' role; after that only an
    admin may grant roles. Each grant is recorded in the registry chain.

    \b
    Example: pathways users add ana --role intake_officer --role legal
    """
    from pathways.model import ADMIN
    from pathways.structure import hint

    eng = _engine(ctx, create=True)
    have = eng.add_user(name, roles, actor=_actor(actor))
    click.echo(_term(f"{name}: {', '.join(have)}"))
    known = eng.roles_in_use()
    for role in roles:
        if known and role not in known and role != ADMIN:
            click.echo(f"warning: no published pathway has the role '{role}'{hint(role, sorted(known))}", err=True)


@users.command("revoke")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True, help="A role to take away (repeat for several).")
@as_option
@click.pass_context
def users_revoke(ctx: click.Context, name: str, roles: tuple[str, ...], actor: str | None) -> None:
    """Take roles away from a user (an admin only; recorded in the registry chain).

    The last admin cannot lose 'admin'. Entries already recorded keep the role
    their actor held at the time; verify judges each by the registry as it was.

    \b
    Example: pathways users revoke lee --role legal --as ana
    """
    left = _engine(ctx).revoke(name, roles, actor=_actor(actor))
    click.echo(_term(f"{name}: {', '.join(left) or '(no roles)'}"))


@users.command("list")
@json_option
@click.pass_context
def users_list(ctx: click.Context, as_json: bool) -> None:
    """List users and their roles.

    \b
    Example: pathways users list --json
    """
    rows = _engine(ctx).users()
    if as_json:
        _emit(rows)
        return
    for u in rows:
        click.echo(_term(f"{u['name']:<20} {', '.join(u['roles'])}"))


def _read_data(source: str) -> dict[str, Any]:
    from pathways.yamlsource import read_mapping

    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"--data {source}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise UsageError(f"--data {source}: not UTF-8 text") from None
    return read_mapping(text, "<stdin>" if source == "-" else source)


@cli.command()
@click.argument("pathway")
@click.option("--data", "data_file", metavar="FILE", help="Proposal data, YAML or JSON ('-' for stdin).")
@click.option("--set", "sets", multiple=True, metavar="K=V", help="A field value (repeatable; overrides --data).")
@click.option("--attach", "attachments", multiple=True, type=click.Path(), help="A document to attach.")
@click.option("--parent", metavar="ID", help="The opportunity a response answers (a bid's rfp, an entry's challenge).")
@as_option
@json_option
@click.pass_context
def intake(ctx: click.Context, pathway: str, data_file: str | None, sets: tuple[str, ...],
           attachments: tuple[str, ...], parent: str | None, actor: str | None, as_json: bool) -> None:
    """Open a new proposal on the latest published version of PATHWAY; prints its id.

    A response names its opportunity with --parent, and is taken in only
    while the opportunity is open (a refusal is recorded and exits 1).

    \b
    Example: pathways intake pilot --data proposal.yaml --set value=12000 --as ana
             pathways intake rfp-bid --parent rfp-0001 --data bid.yaml --as clerk
    """
    from engine import Refused

    data = _read_data(data_file) if data_file else {}
    data.update(_pairs(sets))
    eng = _engine(ctx)
    try:
        pid = eng.intake(pathway, data, actor=_actor(actor), attachments=attachments, parent=parent)
    except Refused as refused:
        _refused(refused, as_json)
    shown = eng.show(pid)
    if as_json:
        _emit({"id": pid, "pathway": shown["pathway"], "version": shown["version"], "state": shown["state"],
               **({"parent": shown["parent"], "receipt": shown["head"]} if shown.get("parent") else {})})
    else:
        click.echo(pid)
        if shown.get("parent"):  # the respondent's receipt: what was submitted, and when, is in this entry
            click.echo(_term(f"receipt: {shown['head']} (the intake entry's hash; with the transparency log, "
                             "'pathways log prove' shows it is in the published tree)"))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.argument("trigger")
@click.option("--rationale", help="Why: written into the audit trail.")
@click.option("--set", "sets", multiple=True, metavar="K=V", help="A field this transition records (repeatable).")
@click.option("--attach", "attachments", multiple=True, type=click.Path(), help="A document to attach.")
@as_option
@json_option
@click.pass_context
def advance(ctx: click.Context, proposal_id: str, trigger: str, rationale: str | None, sets: tuple[str, ...],
            attachments: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Fire TRIGGER on a proposal; prints the new stage.

    A refusal is recorded in the audit trail too, and exits 1 with every reason.

    \b
    Example: pathways advance pilot-0001 screen --rationale "complete submission" --as ana
    """
    from engine import Refused

    try:
        result = _engine(ctx).advance(proposal_id, trigger, actor=_actor(actor), rationale=rationale,
                                      updates=_pairs(sets), attachments=attachments)
    except Refused as refused:
        _refused(refused, as_json)
    if as_json:
        _emit(result)
    else:
        click.echo(result["to"])
        for m in result.get("responses", []):
            click.echo(_term(f"  {m['id']}: {m['trigger']} -> {m['to']}"))


def _refused(refused: Any, as_json: bool) -> NoReturn:
    """A recorded refusal: every reason, exit 1."""
    if as_json:
        _emit({"refused": True, "reasons": refused.reasons, "seq": refused.seq, "hash": refused.hash})
    _refuse("Refused (recorded in the audit trail):\n" + "\n".join(f"  - {r}" for r in refused.reasons))


def _panel_action(as_json: bool, act: Any) -> None:
    """Run one evaluation action; print what was recorded, or every reason it was refused."""
    from engine import Refused

    try:
        done = act()
    except Refused as refused:
        _refused(refused, as_json)
    if as_json:
        _emit(done)
    else:
        for d in done:
            click.echo(_term(f"{d['id']}: {d['action']} recorded (seq {d['seq']}, panel of '{d['stage']}')"))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--evaluator", "evaluators", multiple=True, required=True, metavar="NAME",
              help="An evaluator to assign (repeatable); on an opportunity, to each of its responses.")
@click.option("--stage", help="The panel's stage, where the rules have more than one.")
@as_option
@json_option
@click.pass_context
def assign(ctx: click.Context, proposal_id: str, evaluators: tuple[str, ...], stage: str | None,
           actor: str | None, as_json: bool) -> None:
    """Assign evaluators to a proposal's panel (recorded).

    \b
    Example: pathways assign rfp-0001 --evaluator li.chen --evaluator raj.patel --as maria
    """
    _panel_action(as_json, lambda: _engine(ctx).assign(proposal_id, evaluators, actor=_actor(actor), stage=stage))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--no-conflict", is_flag=True, help="Declare no conflict of interest with this proposal.")
@click.option("--conflict", metavar="WHY", help="Declare a conflict (recuses you from this proposal for good).")
@click.option("--stage", help="The panel's stage, where the rules have more than one.")
@as_option
@json_option
@click.pass_context
def declare(ctx: click.Context, proposal_id: str, no_conflict: bool, conflict: str | None, stage: str | None,
            actor: str | None, as_json: bool) -> None:
    """An evaluator's conflict-of-interest declaration, before seeing or scoring (recorded).

    \b
    Example: pathways declare rfp-bid-0002 --no-conflict --as li.chen
             pathways declare rfp-bid-0002 --conflict "my brother works there" --as raj.patel
    """
    if no_conflict == (conflict is not None):
        raise UsageError("give exactly one of --no-conflict or --conflict \"why\"")
    _panel_action(as_json, lambda: _engine(ctx).declare(proposal_id, actor=_actor(actor), conflict=bool(conflict),
                                                        statement=conflict, stage=stage))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--criterion", "criteria", multiple=True, required=True, metavar="NAME=VALUE",
              help="A score for one criterion, within its scale (repeatable).")
@click.option("--comment", help="Why: kept with the score.")
@as_option
@json_option
@click.pass_context
def score(ctx: click.Context, proposal_id: str, criteria: tuple[str, ...], comment: str | None,
          actor: str | None, as_json: bool) -> None:
    """Score a proposal, criterion by criterion; a later score revises yours (both recorded).

    \b
    Example: pathways score rfp-bid-0002 --criterion technical=80 --criterion price=90 --as li.chen
    """
    _panel_action(as_json, lambda: _engine(ctx).score(proposal_id, _pairs(criteria, "--criterion"),
                                                      actor=_actor(actor), comment=comment))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--criterion", "criteria", multiple=True, required=True, metavar="NAME=VALUE",
              help="The panel's consensus score for one criterion (give every criterion).")
@click.option("--rationale", required=True, help="Why the panel agreed on these scores.")
@as_option
@json_option
@click.pass_context
def consensus(ctx: click.Context, proposal_id: str, criteria: tuple[str, ...], rationale: str,
              actor: str | None, as_json: bool) -> None:
    """Record the panel's consensus score per criterion (the chair; individual scores stay on the record).

    \b
    Example: pathways consensus rfp-bid-0002 --criterion technical=75 ... --rationale "..." --as chair
    """
    _panel_action(as_json, lambda: _engine(ctx).consensus(proposal_id, _pairs(criteria, "--criterion"),
                                                          actor=_actor(actor), rationale=rationale))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("-o", "--output", "folder", type=click.Path(file_okay=False), help="Write each letter to this folder.")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@json_option
@click.pass_context
def letters(ctx: click.Context, proposal_id: str, folder: str | None, fmt: str, as_json: bool) -> None:
    """The letters sent to a proposal's vendor, as recorded (their salted sha256 is in the trail).

    \b
    Example: pathways letters rfp-bid-0002 -o letters/ --format pdf
    """
    found = _engine(ctx).letters(proposal_id)
    if as_json:
        _emit([{k: v for k, v in x.items() if k != "html"} for x in found])
        return
    if not found:
        click.echo(f"{proposal_id}: no letters sent")
        return
    if folder is None:
        for x in found:
            click.echo(x["html"])
        return
    from engine.report import render_pdf

    os.makedirs(folder, exist_ok=True)
    for x in found:
        target = os.path.join(folder, f"{proposal_id}-{x['seq']:04d}-{x['name']}.{fmt}")
        _write_output(target, render_pdf(x["html"]) if fmt == "pdf" else x["html"].encode("utf-8"))
        click.echo(_term(f"{target}  ({x['trigger']}, entry {x['seq']}, salted sha256 {x['salted_sha256']})"))


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--as", "viewer", metavar="NAME", help="See it as this person may (an evaluator sees less).")
@json_option
@click.pass_context
def evaluation(ctx: click.Context, proposal_id: str, viewer: str | None, as_json: bool) -> None:
    """The evaluation sheet: each evaluator, each criterion, weighted totals and the spread.

    Criteria whose scores spread over 30% of their scale or more are flagged
    for the consensus meeting.

    \b
    Example: pathways evaluation rfp-bid-0002
    """
    sheet = _engine(ctx).evaluation(proposal_id, viewer=viewer)
    if as_json:
        _emit(sheet)
        return
    click.echo(_term(f"{sheet['id']}  ({sheet['pathway']}, in '{sheet['state']}')"))
    for stage, p in sheet["panels"].items():
        names = [c["name"] for c in p["criteria"]]
        click.echo(_term(f"panel of '{stage}': assigned {', '.join(p['assigned']) or 'nobody yet'}; "
                         f"recused {', '.join(p['recused']) or 'none'}; complete {len(p['complete'])} of "
                         f"{p['min_evaluators']} needed"))
        click.echo(_term("  " + f"{'evaluator':<16}" + "".join(f"{n[:12]:>13}" for n in names) + f"{'total':>9}"))
        for who, sheet_ in p["sheets"].items():
            total = p["totals"].get(who)
            mark = " (recused: not counted)" if who in p["recused"] else "" if total is not None else " (incomplete)"
            click.echo(_term("  " + f"{who:<16}" + "".join(f"{sheet_.get(n, '-'):>13}" for n in names)
                             + (f"{total:>9.2f}" if total is not None else f"{'-':>9}") + mark))
        if p["consensus"]:
            click.echo(_term("  " + f"{'consensus':<16}" + "".join(f"{p['consensus'].get(n, '-'):>13}" for n in names)))
        if p["summary"] is not None:
            spread = "  ".join(f"{n} {p['spread'][n]:.0%}" + (" FLAGGED" if n in p["flagged"] else "") for n in names)
            click.echo(_term(f"  spread: {spread}"))
            summary = p["summary"]
            agreed = f"; consensus {summary['consensus']:.2f}" if summary["has_consensus"] else ""
            click.echo(_term(f"  weighted mean {summary['weighted_mean']:.2f}{agreed}"))
        if p["hidden"]:
            recused = viewer in p["recused"]
            click.echo("  (you are recused from this proposal: its scores are not shown to you)" if recused
                       else "  (others' scores are hidden until you have declared and submitted your own)")


@cli.command()
@click.argument("proposal_id", metavar="ID")
@json_option
@click.pass_context
def show(ctx: click.Context, proposal_id: str, as_json: bool) -> None:
    """Show a proposal: its stage, data, and what can be done next.

    \b
    Example: pathways show pilot-0001
    """
    s = _engine(ctx).show(proposal_id)
    if as_json:
        _emit(s)
        return
    from pathways.display import local_time, money

    city = _city(ctx)
    click.echo(_term(f"{s['id']}  {s['title']} (v{s['version']})"))
    due = f"due {local_time(s['due_at'], city.zone)}" + (" OVERDUE" if s["overdue"] else "") if s["due_at"] else ""
    status = f"[{s['outcome']}]" if s["final"] else due
    click.echo(_term(f"stage: {s['state']}  {status}"))
    for key, value in s["data"].items():
        sealed_field = s.get("sealed_fields", {}).get(key)
        mark = "" if key in s.get("sealed", ()) else " (confidential)" if key in s["confidential"] and (
            sealed_field is None or sealed_field["confidential"]) else " (was sealed until the opening)" \
            if sealed_field else ""
        if key in s.get("sealed", ()):
            shown = f"(sealed until the opportunity's {value['sealed_until']})"
        else:
            shown = money(value, city.currency) if s["types"].get(key) == "money" else \
                value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        click.echo(_continued(f"  {key}: ", shown) + mark)
    if s.get("sealed"):
        click.echo(_term("  sealed until the opportunity opens the responses: "
                         + ", ".join("attachments" if f == ":attachments" else f for f in s["sealed"])))
    if s.get("parent"):
        click.echo(_term(f"answers: {s['parent']}"))
    if "responses" in s:
        click.echo(_term(f"responses ({len(s['responses'])}):"))
        for r in s["responses"]:
            click.echo(_term(f"  {r['id']}  {r['state']}"))
    if s["available"]:
        click.echo("next:")
        for a in s["available"]:
            click.echo(_term(f"  {a['trigger']} -> {a['to']}  ({', '.join(a['roles'])})"))


@cli.command("list")
@click.option("--pathway", help="Only this pathway id.")
@click.option("--state", help="Only proposals in this stage.")
@click.option("--overdue", is_flag=True, help="Only proposals past their stage deadline.")
@json_option
@click.pass_context
def list_(ctx: click.Context, pathway: str | None, state: str | None, overdue: bool, as_json: bool) -> None:
    """List proposals.

    \b
    Example: pathways list --pathway pilot --overdue
    """
    rows = _engine(ctx).list(pathway=pathway, state=state, overdue=overdue)
    if as_json:
        _emit(rows)
        return
    from pathways.display import local_time

    zone = _city(ctx).zone
    listed = {r["id"] for r in rows}
    family: dict[str, list[dict[str, Any]]] = {}
    for r in rows:  # a response is shown under its opportunity when both are listed
        if r.get("parent") in listed:
            family.setdefault(r["parent"], []).append(r)

    def line(r: dict[str, Any], indent: str = "") -> None:
        due = (" OVERDUE" if r["overdue"] else f" due {local_time(r['due_at'], zone)}") if r["due_at"] else ""
        answers = f"  (answers {r['parent']})" if r.get("parent") and not indent else ""
        click.echo(_term(f"{indent}{r['id']:<{20 - len(indent)}} {r['pathway']} v{r['version']}  {r['state']}{due}"
                         f"{answers}"))

    for r in rows:
        if r.get("parent") in listed:
            continue
        line(r)
        for child in family.get(r["id"], []):
            line(child, "  ")


@cli.command()
@click.argument("proposal_id", metavar="ID")
@json_option
@click.pass_context
def history(ctx: click.Context, proposal_id: str, as_json: bool) -> None:
    """Show a proposal's audit trail, refusals included.

    \b
    Example: pathways history pilot-0001 --json
    """
    entries = _engine(ctx).history(proposal_id)
    keys = ("seq", "at", "kind", "actor", "role", "trigger", "from", "to", "rationale", "hash")
    if as_json:
        _emit([{**{k: e.get(k) for k in keys}, **{k: v for k, v in e.items() if k not in keys}} for e in entries])
        return
    from pathways.display import local_time

    zone = _city(ctx).zone
    for e in entries:
        click.echo(_term(f"{e['seq']:>4} {local_time(e['at'], zone)} {e['kind']:<10} {e['actor']} ({e['role'] or '-'})"
                         f"{_what_happened(e)}"))
        for name, value in (e.get("input") or {}).items() if e["kind"] in ("intake", "transition", "refusal") else ():
            shown = "(confidential: salted hash only)" if isinstance(value, dict) and "salted_sha256" in value \
                else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            click.echo(_continued(f"       set {name}: ", str(shown)))
        for a in e.get("attachments") or []:
            click.echo(_term(f"       attached {a.get('name')} ({a.get('size')} bytes, sha256 {a.get('sha256')})"))
        if e.get("rationale"):
            click.echo(_continued("       rationale: ", e["rationale"]))
        for r in e.get("reasons", []):
            click.echo(_continued("       reason: ", r))


def _what_happened(e: dict[str, Any]) -> str:
    """The one-line gist of an entry: a move, a refusal, a grant, a publication."""
    kind, pathway = e["kind"], e.get("pathway") or {}
    if kind == "refusal":
        return f"  {e['trigger']} REFUSED" + (f" (from {e['from']})" if e.get("from") else "")
    if kind in ("user", "revoke"):
        target = e.get("input") or {}
        verb = "now holds" if kind == "user" else "now holds (revoked " + ", ".join(target.get("revoked", [])) + ")"
        return f"  {target.get('name')} {verb}: {', '.join(target.get('roles', [])) or 'no roles'}"
    if kind == "publish":
        return f"  published {pathway.get('id')} v{pathway.get('version')} (sha256 {pathway.get('sha256')})"
    if kind == "rebuild":
        return f"  rebuilt the tables from the trail: {len((e.get('input') or {}).get('changed', []))} row(s)"
    trigger = f" {e['trigger']}" if e.get("trigger") else ""
    return f"{trigger}  {e.get('from') or ''} -> {e.get('to') or ''}"


@cli.command()
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--against", metavar="CHECKPOINT", type=click.Path(dir_okay=False),
              help="A checkpoint published earlier: the log must extend it.")
@click.option("--key-file", metavar="VKEY", type=click.Path(dir_okay=False),
              help="File with the log's published verifier key (for --against).")
@click.option("--vkey", metavar="STRING", help="The log's published verifier key (for --against).")
@json_option
@click.pass_context
def verify(ctx: click.Context, ids: tuple[str, ...], against: str | None, key_file: str | None,
           vkey: str | None, as_json: bool) -> None:
    """Check audit chains (all, when no ID is given); name the first bad entry.

    With no ID the transparency log is re-derived from the entries too; with
    --against, it must extend that earlier checkpoint.

    \b
    Example: pathways verify pilot-0001
             pathways verify --against checkpoint.txt --key-file log.vkey
    """
    reports = _engine(ctx).verify(ids, raise_on_failure=False)
    log = _verify_log(ctx, against, key_file, vkey) if against or not ids else None
    if as_json:
        _emit([r.as_dict() for r in reports] + ([log.as_dict()] if log else []))
    else:
        for r in reports:
            if r.error is None:
                click.echo(f"ok   {r.chain}: {r.entries} entries, head {r.head}")
            else:
                click.echo(f"FAIL {r.chain}: seq {r.error.seq}: {r.error.reason}", err=True)
        _show_log(log)
    if any(r.error for r in reports) or (log and log.failures):
        sys.exit(1)


@cli.command()
@click.option("--rules", "rules", multiple=True, type=click.Path(), metavar="PATH",
              help="Definition files or folders to restore published rules from (their sha256 must match).")
@as_option
@json_option
@click.pass_context
def rebuild(ctx: click.Context, rules: tuple[str, ...], actor: str | None, as_json: bool) -> None:
    """Restore every table from the audit trail after 'verify' found one edited (an admin only).

    Users and roles come from the registry chain, proposals from their chains,
    the registry head and proposal counters from both. Published rules whose
    stored text was edited are restored from --rules files that hash to what
    was published. What cannot be restored (a chain that does not verify, a
    missing confidential value or file) is listed. The rebuild is recorded.

    \b
    Example: pathways verify || pathways rebuild --as ana --rules definitions/
    """
    from engine.rebuild import rebuild as restore
    from pathways import check_file, expand

    offered = [p for path in expand(rules) for p in [check_file(path)[0]] if p is not None] if rules else []
    done = restore(_engine(ctx), actor=_actor(actor), rules=offered)
    if as_json:
        _emit(done.as_dict())
        return
    for c in done.changed:
        click.echo(_term(f"restored {c['table']} {c['key']}: {', '.join(c['columns'])}"))
    for u in done.unrecoverable:
        click.echo(_term(f"not restored: {u}"), err=True)
    click.echo(f"{len(done.changed)} row(s) restored; {len(done.unrecoverable)} finding(s) left", err=True)
    if done.unrecoverable:
        sys.exit(1)


@cli.command()
@json_option
@click.pass_context
def tick(ctx: click.Context, as_json: bool) -> None:
    """Fire every deadline transition that is due, as the built-in clock.

    Run it from cron (e.g. hourly); each firing is recorded with actor 'clock'.

    \b
    Example: pathways tick
    """
    moved = _engine(ctx).tick()
    if os.environ.get("PATHWAYS_LOG_KEY"):  # sign a checkpoint on the cron's schedule
        _log_checkpoint(ctx, (os.environ["PATHWAYS_LOG_KEY"],))
    if as_json:
        _emit(moved)
        return
    for m in moved:
        what = "refused: " + "; ".join(m["reasons"]) if m.get("refused") else f"-> {m['to']}"
        click.echo(_term(f"{m['id']} {m['trigger']} {what}"))
    click.echo(f"{len(moved)} deadline transition(s)", err=True)


@cli.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False), default="pathways-demo", show_default=True,
              help="Folder for the demo database (created; an old demo there is replaced).")
@click.pass_context
def demo(ctx: click.Context, folder: str) -> None:
    """Run every shipped pathway end to end on a fresh embedded database.

    Publishes the pathways, creates staff, runs realistic proposals (accepted,
    declined, refused attempts, a Swiss-challenge match), verifies every
    audit chain and prints what happened and what to try next.

    \b
    Example: pathways demo --dir /tmp/demo
    """
    from engine.demo import run_demo

    run_demo(Path(folder), echo=click.echo)


# --- records for legal review --------------------------------------------------


def _write_output(target: str, content: bytes) -> None:
    """Write a rendered document to FILE, or to stdout for '-'; a bad path is a usage error."""
    if target == "-":
        click.get_binary_stream("stdout").write(content)
        return
    try:
        Path(target).write_bytes(content)
    except OSError as exc:
        raise UsageError(f"-o {target}: cannot write ({exc.strerror})") from None


@cli.command("export")
@click.argument("proposal_id", metavar="ID")
@click.option("-o", "--output", "folder", required=True, metavar="DIR", type=click.Path(),
              help="New (or empty) folder for the bundle.")
@click.option("--public", is_flag=True,
              help="Leave out confidential values, their salts and attached files (for public release).")
@json_option
@click.pass_context
def export_(ctx: click.Context, proposal_id: str, folder: str, public: bool, as_json: bool) -> None:
    """Write a proposal's audit bundle that legal can read, print and verify offline.

    The bundle holds trail.jsonl (the entries' exact hashed bytes), manifest.json
    (count, head hash, the pathway's YAML), report.html, and verify.py, which
    checks it all with nothing but Python 3: python3 -I DIR/verify.py DIR.
    A private bundle adds secrets.json and attachments/; --public leaves
    them out and still verifies. The chain is verified before writing.
    With the transparency log started, log.json carries the latest signed
    checkpoint covering the entries and a proof for each (sign one first:
    pathways log checkpoint --key FILE).

    \b
    Example: pathways export pilot-0001 -o pilot-0001-bundle
             pathways export pilot-0001 -o pilot-0001-public --public
    """
    from engine.export import export

    bundle = export(_engine(ctx), proposal_id, folder, public=public, city=_city(ctx))
    if as_json:
        _emit({"id": bundle.proposal, "folder": str(bundle.folder), "entries": bundle.entries,
               "head": bundle.head, "public": bundle.public, "files": bundle.files, "withheld": bundle.withheld,
               "log": bundle.log, "redacted": bundle.redacted})
        return
    kind = "public bundle" if public else "private bundle (contains confidential data)"
    click.echo(f"{bundle.folder}: {kind} of {bundle.proposal}, {bundle.entries} entries, head {bundle.head}")
    if bundle.withheld:
        click.echo(f"withheld: {', '.join(bundle.withheld)}")
    if bundle.redacted:
        click.echo(f"redacted: entr{'y' if len(bundle.redacted) == 1 else 'ies'} "
                   f"{', '.join(map(str, bundle.redacted))}, carried by hash alone (they quote a confidential "
                   "value in hashed bytes; see README.txt)")
    if bundle.log is None:
        click.echo("log: none (the database's transparency log is not started): the bundle has no outside witness")
    else:
        click.echo(f"log: checkpoint of '{bundle.log['origin']}' at tree size {bundle.log['size']}, "
                   f"signed by {'; '.join(bundle.log['keys'])}")
    click.echo(f"check it with: python3 -I {bundle.folder / 'verify.py'} {bundle.folder}")


@cli.command()
@click.argument("ids", nargs=-1, metavar="[ID]...")
@click.option("--all", "every", is_flag=True, help="Every proposal in the database.")
@click.option("--prefix", metavar="ocds-xxxxxx", help="The ocid prefix (default: the city's open_data.ocid_prefix).")
@click.option("--since", metavar="DATE", help="Only releases dated at or after DATE (YYYY-MM-DD, UTC, or a date-time).")
@click.option("-o", "--output", required=True, metavar="DIR|-",
              help="Folder to write the packages and the extension to ('-': one package on stdout).")
@click.option("--records", is_flag=True, help="With -o -: print the record package instead of the release package.")
@json_option
@click.pass_context
def ocds(ctx: click.Context, ids: tuple[str, ...], every: bool, prefix: str | None, since: str | None, output: str,
         records: bool, as_json: bool) -> None:
    """Publish proposals as Open Contracting Data Standard 1.1.5 open data.

    One release per publicly visible change, each naming the audit entry it
    derives from (auditEntry: chain, seq, hash); a record per process with its
    compiled and versioned release. Only public fields are published, every file
    passes the disclosure check, and both packages are validated against the
    OCDS 1.1.5 schemas before anything is written. The same database and options
    give byte-identical files. Red flags (Cardinal's indicators) print as warnings.

    \b
    Example: pathways ocds --all -o open-data/
             pathways ocds rfp-0001 --since 2026-01-01 -o -
    """
    from engine.open_data import RECORDS_FILE, RELEASES_FILE, publish, write

    done = publish(_engine(ctx), _city(ctx), ids, every=every, prefix=prefix, since=since)
    for flag in done.flags:
        click.echo(_term(f"warning: {flag}"), err=True)
    if output == "-":
        click.echo(done.files[RECORDS_FILE if records else RELEASES_FILE], nl=False)  # the bytes a file would hold
        return
    paths = write(done, output)
    if as_json:
        _emit({**done.as_dict(), "folder": output, "written": [str(p) for p in paths]})
        return
    click.echo(f"{output}: {done.releases} releases of {done.processes} processes, published "
               f"{done.release_package['publishedDate']} ({', '.join(sorted(done.files))})")


@cli.command()
@click.argument("proposal_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write ('-' for stdout).")
@click.option("--public", is_flag=True, help="Withhold confidential values, saying which and why.")
@click.pass_context
def report(ctx: click.Context, proposal_id: str, fmt: str, output: str, public: bool) -> None:
    """Render a proposal's audit trail as a report to read or print.

    Every entry with who, in what role, when, from and to, each rule with its
    result and citation, the rationale, attachments' hashes and refused
    attempts; time spent in each stage; the head hash on every printed page.
    PDF needs the 'pdf' extra (WeasyPrint).

    \b
    Example: pathways report pilot-0001 -o pilot-0001.html
             pathways report pilot-0001 --format pdf -o pilot-0001.pdf
    """
    from engine.report import build_report, report_bytes

    _write_output(output, report_bytes(build_report(_engine(ctx), proposal_id, public=public, city=_city(ctx)), fmt))
    if output != "-":
        click.echo(output)


@cli.command()
@click.argument("pathway", metavar="PATH|ID")
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option("-o", "--output", required=True, metavar="FILE", help="Where to write ('-' for stdout).")
@click.pass_context
def docs(ctx: click.Context, pathway: str, fmt: str, output: str) -> None:
    """Render a pathway's rules as a page for legal review.

    Stages with deadlines, transitions with roles and guards in words with
    their citations, fields (which are confidential), limits, legal basis
    and a diagram. PATH is a definition file; an ID is the latest published
    version.

    \b
    Example: pathways docs definitions/pilot.yaml -o pilot-rules.html
    """
    import datetime as dt

    from engine.audit import timestamp
    from engine.docs import docs_html
    from engine.rendering import render_pdf
    from pathways.display import local_time

    html = docs_html(_pathway(ctx, pathway), local_time(timestamp(dt.datetime.now(dt.UTC)), _city(ctx).zone))
    _write_output(output, render_pdf(html) if fmt == "pdf" else html.encode("utf-8"))
    if output != "-":
        click.echo(output)


# --- the transparency log ------------------------------------------------------

def _now() -> str:
    import datetime as dt

    from engine.audit import timestamp

    return timestamp(dt.datetime.now(dt.UTC))


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read: {exc}") from None


def _vkeys(key_file: str | None, vkey: str | None) -> list[str]:
    keys = [line.strip() for line in _read_text(key_file).splitlines() if line.strip()] if key_file else []
    keys += [vkey] if vkey else []
    if not keys:
        raise UsageError("--against needs the log's published key: --key-file VKEY or --vkey STRING "
                         "(the database's own record of its key proves nothing)")
    return keys


def _verify_log(ctx: click.Context, against: str | None, key_file: str | None, vkey: str | None) -> Any:
    from engine.transparency import logcheck

    keys = _vkeys(key_file, vkey) if against else []
    return logcheck.verify_log(_engine(ctx).db, _read_text(against) if against else None, keys)


def _show_log(report: Any) -> None:
    if report is None:
        return
    for line in report.notes:
        click.echo(_term(f"     log: {line}"))
    if not report.failures:
        click.echo(f"ok   log: {report.size} leaves")
    for f in report.failures:
        where = f"leaf {f.seq}: " if f.seq is not None else ""
        click.echo(_term(f"FAIL log: {where}{f.reason}"), err=True)


def _log_checkpoint(ctx: click.Context, key_files: tuple[str, ...]) -> dict[str, Any]:
    from engine.transparency import checkpoints, load_key

    keys = [load_key(k) for k in key_files]
    with _engine(ctx).db.begin() as conn:
        return checkpoints.checkpoint(conn, keys, _now())


@cli.group(cls=_Group)
def log() -> None:
    """The transparency log: one Merkle tree of every entry, signed checkpoints, proofs."""


@log.command("init")
@click.option("--key", "key_file", required=True, metavar="FILE", type=click.Path(dir_okay=False),
              help="The log's signing key; created (mode 0600) if the file does not exist. Keep it outside "
                   "the database.")
@click.option("--origin", required=True, metavar="NAME", help="The log's name, e.g. 'Springfield procurement log'.")
@click.option("--new-origin", is_flag=True, help="The key was lost: start a new origin with a new key.")
@json_option
@click.pass_context
def log_init(ctx: click.Context, key_file: str, origin: str, new_origin: bool, as_json: bool) -> None:
    """Start the log: sequence every entry already there, in commit order, and record the origin.

    \b
    Example: pathways log init --key ~/city-log.key --origin "Springfield procurement log"
    """
    from engine.transparency import checkpoints, generate_key, load_key, log, save_key

    created = not Path(key_file).exists()
    key = generate_key(checkpoints.key_name(origin)) if created else load_key(key_file)
    eng = _engine(ctx)
    with eng.db.begin() as conn:
        done = log.init(conn, origin, str(key.verifier), _now(), new_origin=new_origin)
    if created and not done.get("retiled_only"):  # only once the log accepted it
        save_key(key, key_file)
        Path(key_file + ".pub").write_text(f"{key.verifier}\n", encoding="ascii")
    done["key_created"] = created and not done.get("retiled_only")
    if as_json:
        _emit(done)
        return
    click.echo(_term(f"origin:  {done['origin']}\nkey:     {done['vkey']}  (publish this)\n"
                     f"size:    {done['size']} leaves ({done['sequenced']} sequenced now)", keep_newlines=True))
    if done.get("retiled_only"):
        click.echo(_term(f"note:    {done['reason']}; the key and origin are unchanged"), err=True)
    elif created:
        click.echo(f"created {key_file} (private, 0600) and {key_file}.pub", err=True)


@log.command("checkpoint")
@click.option("--key", "key_files", required=True, multiple=True, metavar="FILE", type=click.Path(dir_okay=False),
              help="The log's key; give the old and the new key to rotate.")
@click.option("-o", "--output", metavar="FILE", default="-", help="Where to write the signed checkpoint.")
@click.pass_context
def log_checkpoint(ctx: click.Context, key_files: tuple[str, ...], output: str) -> None:
    """Sign the current tree (C2SP tlog-checkpoint) and record it; publish the output.

    \b
    Example: pathways log checkpoint --key ~/city-log.key -o checkpoint.txt
    """
    done = _log_checkpoint(ctx, key_files)
    _write_output(output, done["note"].encode("utf-8"))
    if done["rotated_to"]:
        click.echo(_term(f"key rotated to {done['rotated_to']}"), err=True)
    if output != "-":
        click.echo(_term(f"{output}: size {done['size']}, root {done['root']}"))


@log.command("prove")
@click.argument("entry_hash")
@click.option("--size", type=int, help="Tree size to prove against (default: the whole tree).")
@json_option
@click.pass_context
def log_prove(ctx: click.Context, entry_hash: str, size: int | None, as_json: bool) -> None:
    """An inclusion proof (RFC 9162) of one entry.

    \b
    Example: pathways log prove 3f1a...e0 --size 1200
    """
    from engine.storage import reading
    from engine.transparency import log

    with reading(_engine(ctx).db) as conn:
        proof = log.prove(conn, entry_hash.strip().lower(), size)
    if as_json:
        _emit(proof)
        return
    click.echo(_term(f"{proof['chain']} seq {proof['seq']}: leaf {proof['index']} of {proof['size']}, "
                     f"root {proof['root']}"))
    for h in proof["proof"]:
        click.echo(h)


@log.command("consistency")
@click.argument("old", metavar="OLD_CHECKPOINT", type=click.Path(dir_okay=False))
@click.argument("new", metavar="[NEW_CHECKPOINT]", required=False, type=click.Path(dir_okay=False))
@click.option("--key-file", metavar="VKEY", type=click.Path(dir_okay=False), help="Also check the signatures.")
@click.option("--vkey", metavar="STRING", help="Also check the signatures with this key.")
@json_option
@click.pass_context
def log_consistency(ctx: click.Context, old: str, new: str | None, key_file: str | None, vkey: str | None,
                    as_json: bool) -> None:
    """The consistency proof from an earlier checkpoint to a later one (or to the tree now), checked.

    \b
    Example: pathways log consistency january.txt february.txt
    """
    from engine.storage import reading
    from engine.transparency import Checkpoint, consistency_proof, log, open_checkpoint, parse_note
    from engine.transparency import verify_consistency as check

    keys = _vkeys(key_file, vkey) if key_file or vkey else None

    def read(path: str) -> Checkpoint:
        text = _read_text(path)
        return open_checkpoint(text, keys)[0] if keys else Checkpoint.from_text(parse_note(text)[0])

    a = read(old)
    with reading(_engine(ctx).db) as conn:
        b = read(new) if new else Checkpoint(a.origin, log.tree_size(conn), log.root(conn, log.tree_size(conn)))
        nodes = log.Nodes(conn)
        try:
            proof = nodes.run(lambda node: consistency_proof(a.size, b.size, node))
        finally:
            nodes.close()
    check(a.size, b.size, a.root, b.root, proof)
    if as_json:
        _emit({"old_size": a.size, "new_size": b.size, "proof": [p.hex() for p in proof], "ok": True})
        return
    for p in proof:
        click.echo(p.hex())
    click.echo(f"ok: the tree of {b.size} leaves extends the tree of {a.size} ({len(proof)} hashes)")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="pathways")


if __name__ == "__main__":
    main()
