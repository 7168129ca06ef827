"""Tests of ibeat_io.session_options: the session's command-line options, in one place."""

import argparse

import pytest

from ibeat_core.drums import GENRES
from ibeat_core.errors import ParameterError
from ibeat_core.session import MODES, SessionConfig
from ibeat_core.trackers import TRACKERS
from ibeat_io.session_options import (SESSION_OPTIONS, add_session_options,
                                      session_config_from_args)


def _parser(names=SESSION_OPTIONS, **kwargs):
    parser = argparse.ArgumentParser(prog="t")
    add_session_options(parser, names, **kwargs)
    return parser


def _config(argv, names=SESSION_OPTIONS, prefix="", **kwargs):
    args = _parser(names, prefix=prefix, **kwargs).parse_args(argv)
    return session_config_from_args(args, prefix=prefix)


def test_a_command_line_gives_its_session_config():
    config = _config(["--mode", "mono", "--genre", "funk", "--genre-strength", "2.5",
                      "--seed", "7", "--density", "-0.5", "--temperature", "0.3",
                      "--lead-ms", "150"])
    assert config == SessionConfig(mode="mono", genre="funk", genre_strength=2.5, seed=7,
                                   density=-0.5, temperature=0.3, lead_s=0.15)


def test_defaults_are_session_configs():
    default = SessionConfig()
    parser = _parser()
    assert {name: parser.get_default(name) for name in SESSION_OPTIONS} == {
        "mode": default.mode, "genre": default.genre, "genre_strength": default.genre_strength,
        "seed": default.seed, "density": default.density, "temperature": default.temperature,
        "lead_ms": 1e3 * default.lead_s, "tracker": default.tracker, "drums": default.drums,
        "meter": default.meter}
    assert _config([]) == default
    # Options a command does not take keep the defaults too.
    assert _config(["--seed", "4"], names=("mode", "seed")) == SessionConfig(seed=4)


def test_choices_are_the_engines():
    actions = {a.dest: a for a in _parser()._actions}
    assert tuple(actions["mode"].choices) == MODES
    assert tuple(actions["genre"].choices) == GENRES
    assert set(actions["tracker"].choices) == set(TRACKERS)


def test_a_prefix_names_the_flags_and_the_fields():
    names = ("mode", "genre", "seed", "lead_ms")
    parser = _parser(names, prefix="source-")
    args = parser.parse_args(["--source-mode", "mono", "--source-genre", "jazz",
                              "--source-seed", "2", "--source-lead-ms", "80"])
    assert (args.source_mode, args.source_genre, args.source_seed, args.source_lead_ms) == \
        ("mono", "jazz", 2, 80.0)
    assert session_config_from_args(args, prefix="source-") == SessionConfig(
        mode="mono", genre="jazz", seed=2, lead_s=0.08)
    with pytest.raises(SystemExit):
        parser.parse_args(["--mode", "mono"])


def test_only_the_named_options_are_added_in_their_order():
    parser = _parser(("seed", "mode"))
    flags = [a.option_strings[0] for a in parser._actions if a.dest != "help"]
    assert flags == ["--seed", "--mode"]
    with pytest.raises(ParameterError, match="unknown session options"):
        _parser(("mode", "tempo"))


def test_a_client_leaves_the_lead_to_the_server():
    parser = _parser(("lead_ms",), server_lead_default=True)
    assert parser.parse_args([]).lead_ms is None
    assert "default: the server's, 100)" in parser.format_help()
    assert session_config_from_args(parser.parse_args([])).lead_s == SessionConfig().lead_s
    assert parser.parse_args(["--lead-ms", "60"]).lead_ms == 60.0


@pytest.mark.parametrize("argv", [["--mode", "stereo"], ["--genre", "disco"], ["--seed", "1.5"],
                                  ["--temperature", "hot"]])
def test_bad_values_are_argparse_errors(argv, capsys):
    with pytest.raises(SystemExit) as e:
        _config(argv)
    assert e.value.code == 2 and "error: argument" in capsys.readouterr().err


@pytest.mark.parametrize("argv, prefix, message", [
    (["--lead-ms", "10"], "", "--lead-ms must be > 20 ms, got 10"),
    (["--source-lead-ms", "0"], "source-", "--source-lead-ms must be > 20 ms, got 0"),
    (["--lead-ms", "nan"], "", "--lead-ms must be > 20 ms, got nan"),
    (["--temperature", "-1"], "", "temperature must be"),
    (["--genre-strength", "-2"], "", "genre_strength"),
])
def test_values_the_session_refuses_are_parameter_errors(argv, prefix, message):
    with pytest.raises(ParameterError, match=message):
        _config(argv, prefix=prefix)


def test_the_commands_parse_their_session_options(capsys):
    from ibeat_cli.main import build_parser

    parser = build_parser()
    args = parser.parse_args(["render", "--mode", "mono", "--genre-strength", "2", "--seed", "5"])
    assert session_config_from_args(args) == SessionConfig(mode="mono", genre_strength=2.0,
                                                           seed=5)
    args = parser.parse_args(["live", "--video", "x.mp4", "--genre", "rock", "--lead-ms", "150"])
    assert session_config_from_args(args) == SessionConfig(genre="rock", lead_s=0.15)
    with pytest.raises(SystemExit):
        parser.parse_args(["live", "--video", "x.mp4", "--density", "1"])

    from ibeat_grpc.replay import main as replay_main
    from ibeat_grpc.server import main as server_main
    for main, flags in [(server_main, ["--source-mode", "--source-genre", "--source-seed",
                                       "--source-lead-ms"]),
                        (replay_main, ["--mode", "--genre", "--seed", "--lead-ms"])]:
        with pytest.raises(SystemExit) as e:
            main(["--help"])
        assert e.value.code == 0
        text = capsys.readouterr().out
        assert all(f in text for f in flags) and "--genre-strength" not in text
