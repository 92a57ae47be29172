"""The pytest plugin, as a user's test suite uses it (run with pytester in a separate session)."""

from __future__ import annotations

import pytest


def test_fixtures_give_isolated_connections(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import virtcore
        from virtcore import DomainState, DomainEventType

        def test_destroy_in_one_test(virt_conn):
            virt_conn.lookup_domain("test").destroy()
            assert virt_conn.lookup_domain("test").state()[0] == DomainState.SHUTOFF

        def test_next_test_sees_a_fresh_node(virt_conn, virt_uri):
            assert virt_conn.lookup_domain("test").state()[0] == DomainState.RUNNING
            assert virt_uri.startswith("test:///") and virt_uri.endswith(".xml")

        def test_events(virt_conn, virt_events):
            virt_conn.lookup_domain("test").suspend()
            assert virt_events == [("test", DomainEventType.SUSPENDED, 0)]

        def test_custom_node(virt_node_file):
            uri = virt_node_file(["<domain type='test'><name>mine</name><memory>1024</memory>"
                                  "<os><type>hvm</type></os></domain>"])
            with virtcore.open(uri) as conn:
                assert [d.name for d in conn.list_domains()] == ["mine"]
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=4)
