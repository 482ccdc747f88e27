"""The demo third-party web app ("SunSpark Solar"), built only on :mod:`opencustodian.client`.

It plays the third party's side of the Green Button Connect My Data customer journey (seed 001):
select your utility, choose what to share, authorize at the custodian, come back connected; or
start at the utility's "Share My Data" page and land on this app's scope selection (seed 000).
"""

from opencustodian.demo.thirdparty.app import create_thirdparty_app
from opencustodian.demo.thirdparty.config import PREDEFINED_SCOPES, ScopeOption, ThirdPartyConfig

__all__ = ["PREDEFINED_SCOPES", "ScopeOption", "ThirdPartyConfig", "create_thirdparty_app"]
