"""bunken-kb: the knowledge base of 地方分権改革「提案募集方式」 proposals."""

__version__ = "0.1.0"
