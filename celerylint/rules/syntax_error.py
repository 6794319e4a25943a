from celerylint.rules.base import Rule


class SyntaxErrorRule(Rule):
    """## What it does
    Reports files that could not be read or parsed: invalid syntax, an undecodable
    encoding, brackets nested deeper than Python allows, or a file the operating
    system refuses to open.

    ## Why is this bad?
    A file the analyzer cannot read is a file whose tasks and beat entries it cannot
    check, so a broken file hides real findings. Every other file is still checked.

    ## Example
    ```python
    # app/tasks.py
    from celery import shared_task

    @shared_task
    def send_report(:  # SYN001
        pass
    ```

    ## Use instead
    ```python
    # app/tasks.py
    from celery import shared_task

    @shared_task
    def send_report():
        pass
    ```
    """

    valid = (
        # Newer syntax that Python 3.11's own parser rejects is still read.
        """
        # app/tasks.py
        from celery import shared_task

        @shared_task
        def parse(data):
            try:
                return int(data)
            except ValueError, TypeError:
                return None

        def first[T](items: list[T]) -> T:
            return items[0]
        """,
    )
    code = "SYN001"
    summary = "a file could not be read or parsed"

    def check(self, project):
        for source, facts in project.index.parsed():
            if facts.error is not None:
                err = facts.error
                yield self.report(source.rel, (err.line, err.column, err.line, err.column), err.message,
                                  entity="file")
