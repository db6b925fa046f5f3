"""``python -m services.agent``."""

from services.agent.cli import agent_app

if __name__ == "__main__":
    agent_app(prog_name="agent")
