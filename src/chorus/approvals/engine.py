"""Renamed: the approval workflow is a policy now (chorus.approvals.policy), asked by
chorus.publishing.actions. This alias keeps older imports working; import `policy` in new code."""

from chorus.approvals.policy import *  # noqa: F403
from chorus.approvals.policy import _target_url  # noqa: F401
