"""Which customer information a grant's function blocks release (FB 53 gate, FB 54–60)."""

from __future__ import annotations

import pytest

from opencustodian.domain.customer_facts import CustomerPart, customer_rights


@pytest.mark.parametrize("blocks", [(), (51,), (51, 54, 55, 56, 57, 58, 59, 60), (1, 3, 4, 5)])
def test_without_fb_53_nothing_is_released(blocks: tuple[int, ...]):
    assert customer_rights(blocks) is None


def test_fb_53_alone_releases_no_part():
    rights = customer_rights([53])
    assert rights is not None
    assert rights.parts == frozenset()


def test_each_block_releases_its_own_part():
    expected = {
        54: CustomerPart.CONTACT,
        55: CustomerPart.MAILING_ADDRESS,
        56: CustomerPart.ACCOUNTS,
        57: CustomerPart.AGREEMENTS,
        58: CustomerPart.SERVICE_LOCATIONS,
        59: CustomerPart.SUPPLIER,
        60: CustomerPart.METERS,
    }
    for block, part in expected.items():
        rights = customer_rights([53, block])
        assert rights is not None
        assert rights.parts == {part}, block


def test_the_test_suites_customer_scope():
    rights = customer_rights([51, 53, 56, 57, 58, 60])
    assert rights is not None
    assert rights.allows(CustomerPart.ACCOUNTS)
    assert rights.allows(CustomerPart.METERS)
    assert not rights.allows(CustomerPart.CONTACT)
    assert not rights.allows(CustomerPart.SUPPLIER)
    assert not rights.allows(CustomerPart.MAILING_ADDRESS)
