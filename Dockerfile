# Trợ lý số: one image for the bot and its command line (python -m bot …).
# Build: docker build -t tro-ly-so .   Run: see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    HF_HUB_OFFLINE=1

# A fixed numeric id, so volume permissions and Kubernetes' runAsNonRoot work without a name lookup.
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid bot --home-dir /app --no-create-home --shell /usr/sbin/nologin bot

WORKDIR /app

# Dependencies first, exactly as pinned and hashed in the lock (`make lock` writes it from pyproject.toml),
# so that code changes reuse this layer.
COPY pyproject.toml requirements.lock README.md* /src/
RUN pip install --require-hashes -r /src/requirements.lock

COPY bot /src/bot
COPY handlers /src/handlers
RUN pip install --no-deps /src && rm -rf /src

# underthesea's text_normalize rules and word_tokenize CRF model ship inside its wheel; load both now, with
# no network and no home folder, so a missing resource fails the build rather than the first question.
RUN HOME=/nonexistent python -c "from underthesea import text_normalize, word_tokenize; \
assert text_normalize('Ðảm baỏ chất lựơng') == 'Đảm bảo chất lượng'; \
assert word_tokenize('Bác sĩ bây giờ có thể', format='text') == 'Bác_sĩ bây_giờ có_thể'; \
import bot.kb.normalize, bot.app"

COPY --chown=bot:bot knowledge /app/knowledge
RUN mkdir -p /app/data && chown bot:bot /app/data

USER 10001:10001

ENV KNOWLEDGE_DIR=/app/knowledge \
    DATABASE_URL=sqlite:////app/data/bot.db \
    HTTP_PORT=8080
EXPOSE 8080

# /healthz answers 200 when the database responds and the knowledge base is loaded (Telegram/Zalo modes).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('HTTP_PORT', '8080') + '/healthz', timeout=4)"]

CMD ["python", "-m", "bot", "run"]
