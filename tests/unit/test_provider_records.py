"""The provider records: one per provider, the registry read from them, the endpoints pinned.

The documented endpoints below are copied from the services' own documents
(/work/shared/api-docs, summarised in its README): a wrong default URL in a record fails here.
"""

import inspect
from urllib.parse import urlsplit

import pytest

from mapsmith import providers
from mapsmith.providers import OPTIONS, ProviderRecord, Settings, create
from mapsmith.tests.servers.fake_services import KEY_OF, FakeServices
from mapsmith.tests.servers.helpers import loopback_only, portrait  # noqa: F401

DOCUMENTED = {
    "CLIPDROP": {
        "cleanup": "https://apis.clipdrop.co/cleanup/v1",                      # 000
        "depth": "https://clipdrop-api.co/portrait-depth-estimation/v1",       # 001
        "normals": "https://clipdrop-api.co/portrait-surface-normals/v1",      # 002
    },
    "ERASE": {"erase": "https://www.aithriving.com/api/edit/erase"},            # 003
    "BGREMOVAL": {                                                              # 004
        "version": "https://background-removal4.p.rapidapi.com/v1/version",
        "modes": "https://background-removal4.p.rapidapi.com/v1/modes",
        "results": "https://background-removal4.p.rapidapi.com/v1/results",
    },
}


def test_every_official_endpoint_is_the_documented_one():
    remote = {record.id: dict(record.endpoints) for record in providers.REMOTE}
    assert remote == DOCUMENTED


@pytest.mark.parametrize("provider_id, endpoint", [(p, e) for p, urls in DOCUMENTED.items()
                                                   for e in urls])
def test_a_provider_calls_its_documented_endpoint_without_a_base_url(provider_id, endpoint):
    client = create(provider_id, Settings(api_key="k" * 10)).client
    assert client.url(providers.RECORDS[provider_id].endpoint(endpoint)) == \
        DOCUMENTED[provider_id][endpoint]


def _calls(provider, services):
    """Every capability of a remote provider once, plus its connection test."""
    img = portrait()
    mask = portrait()[:, :, 0] * 0
    mask[2:8, 2:12] = 255
    for capability in sorted(provider.capabilities):
        if capability == "cleanup":
            provider.cleanup(img, mask)
        elif capability == "background":
            provider.background(img, "CUTOUT")
        else:
            getattr(provider, capability)(img)
    provider.test_connection()
    return {r.path for r in services.requests}


@pytest.mark.parametrize("provider_id", sorted(DOCUMENTED))
def test_with_a_base_url_the_documented_paths_go_under_it(provider_id):
    with FakeServices() as services:
        record = providers.RECORDS[provider_id]
        provider = create(provider_id, Settings(api_key=KEY_OF[record.service],
                                                base_url=services.url, max_retries=0))
        paths = _calls(provider, services)
    documented = {urlsplit(url).path for url in DOCUMENTED[provider_id].values()}
    assert paths <= documented and paths


def known(ids):
    """The providers of this file's time, in registry order (a new one may sit among them)."""
    return [pid for pid in ids if pid in ("OFFLINE", "BGREMOVAL", "CLIPDROP", "ERASE")]


def test_registry_is_derived_from_the_records():
    # Offline first, then by module name: the positions the saved enum preferences keep.
    assert known(providers.RECORDS) == ["OFFLINE", "BGREMOVAL", "CLIPDROP", "ERASE"]
    assert known(providers.offering("cleanup")) == ["OFFLINE", "CLIPDROP", "ERASE"]
    assert known(providers.offering("background")) == ["OFFLINE", "BGREMOVAL"]
    assert known(providers.offering("depth")) == known(providers.offering("normals")) == \
        ["OFFLINE", "CLIPDROP"]
    assert list(providers.RECORDS)[0] == "OFFLINE"
    for pid, record in providers.RECORDS.items():
        provider = create(pid)
        assert provider.record is record and providers.label(pid) == provider.label
        assert providers.is_remote(pid) == provider.remote == bool(record.endpoints)
    assert providers.label("BGREMOVAL") == "Background Removal"


def test_remote_records_name_their_preferences_and_environment():
    # The public preference names <service>_api_key / <service>_url come from these.
    assert {r.service: r.key_env for r in providers.REMOTE}.items() >= {
        "clipdrop": "MAPSMITH_CLIPDROP_API_KEY", "erase": "MAPSMITH_ERASE_API_KEY",
        "bgremoval": "MAPSMITH_BGREMOVAL_API_KEY"}.items()
    for record in providers.REMOTE:
        assert record.key_env == f"MAPSMITH_{record.service.upper()}_API_KEY"
        assert record.service.isidentifier() and record.service.islower()
    assert providers.RECORDS["OFFLINE"].official_bases == ()
    assert providers.RECORDS["CLIPDROP"].official_bases == ("https://apis.clipdrop.co",
                                                            "https://clipdrop-api.co")


@pytest.mark.parametrize("pid", list(providers.RECORDS))
def test_each_capability_method_takes_the_options_its_record_honours(pid):
    cls = providers.CLASSES[pid]
    for capability in cls.record.capabilities:
        params = inspect.signature(getattr(cls, capability)).parameters
        for option, default in OPTIONS[capability].items():
            if cls.record.honours(capability, option):
                assert params[option].kind is inspect.Parameter.KEYWORD_ONLY
                assert params[option].default == default


def test_options_keep_only_what_the_provider_honours():
    offline, erase = create("OFFLINE"), create("ERASE")
    assert providers.options(offline, "cleanup", exclude_person=True) == {"exclude_person": True}
    assert providers.options(erase, "cleanup", exclude_person=True) == {}
    with pytest.raises(TypeError, match="declares no option"):
        providers.options(offline, "cleanup", strength=2)


@pytest.mark.parametrize("bad, match", [
    (dict(capabilities=frozenset({"upscale"})), "unknown capabilities"),
    (dict(capabilities=frozenset({"depth"}), options=(("depth", ("exclude_person",)),)),
     "not declared"),
    (dict(capabilities=frozenset({"depth"}), endpoints=(("depth", "https://x/d"),)),
     "needs a service name"),
])
def test_a_record_that_contradicts_the_contract_is_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        ProviderRecord(id="X", label="X", **bad)
