"""Shared fixtures: one engine and one linker with wasi-warden's imports for every test."""
import os
import pathlib

import pytest
import wasmtime

import wasi_warden

GUESTS = pathlib.Path(os.environ["WW_GUESTS"])


@pytest.fixture(scope="session")
def engine():
    return wasmtime.Engine()


@pytest.fixture(scope="session")
def linker(engine):
    linker = wasmtime.Linker(engine)
    wasi_warden.add_to_linker(linker)
    return linker


@pytest.fixture(scope="session")
def guest(engine):
    cache = {}

    def load(name):
        if name not in cache:
            cache[name] = wasmtime.Module.from_file(engine, str(GUESTS / f"{name}.wasm"))
        return cache[name]
    return load


@pytest.fixture
def run(engine, linker):
    """run(module, config) -> (stop, ctx): a fresh store served by a context from `config`."""
    contexts = []

    def go(module, config, bind=False):
        store = wasmtime.Store(engine)
        ctx = wasi_warden.Context(config, store)
        contexts.append(ctx)
        instance = linker.instantiate(store, module)
        if bind:
            ctx.bind_memory(instance.exports(store)["memory"])
        return ctx.run(instance), ctx
    yield go
    for ctx in contexts:
        ctx.close()
