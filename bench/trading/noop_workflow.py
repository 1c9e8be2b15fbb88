"""The ceiling of the order benchmark: an update that does nothing but answer."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BenchNoop")
class NoopWorkflow:
    def __init__(self) -> None:
        self.done = False

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: self.done)

    @workflow.update
    async def noop(self, value: int) -> int:
        return value

    @workflow.signal
    def finish(self) -> None:
        self.done = True
