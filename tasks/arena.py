from __future__ import annotations

from tasks.celery import app


@app.task(name="tasks.arena.generate_battle")
def generate_battle(battle_id: int) -> str:
    """Ask a battle's two models for their replies, then offer it to volunteers."""
    from backend.arena.services import battle_generate

    return str(battle_generate(battle_id=battle_id))


@app.task(name="tasks.arena.fill_battle_pool")
def fill_battle_pool(project_id: int, lang: str) -> int:
    """Keep a project's pool of ready battles in ``lang`` full."""
    from backend.arena.services import battle_pool_fill, battles_prune

    battles_prune(project_id=project_id, lang=lang)
    return battle_pool_fill(project_id=project_id, lang=lang)


@app.task(name="tasks.arena.fill_all_pools")
def fill_all_pools() -> int:
    """Beat: every arena project's pools (battles that failed are replaced here)."""
    from backend.arena.selectors import arena_project_languages
    from backend.arena.services import battle_pool_fill, battles_prune

    started = 0
    for project_id, lang in arena_project_languages():
        battles_prune(project_id=project_id, lang=lang)
        started += battle_pool_fill(project_id=project_id, lang=lang)
    return started


@app.task(name="tasks.arena.request_model_replies")
def request_model_replies() -> int:
    """Beat: owe model replies to the prompter messages that wait for replies."""
    from backend.arena.model_replies import model_replies_request

    return model_replies_request()


@app.task(name="tasks.arena.generate_model_reply")
def generate_model_reply(request_id: int) -> str:
    """Ask a model for one reply in a tree and store it as a sibling."""
    from backend.arena.model_replies import model_reply_generate

    return str(model_reply_generate(request_id=request_id))
