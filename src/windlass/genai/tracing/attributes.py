"""The span attribute names windlass writes, and the conventions it reads them from.

windlass's own SDK writes the OpenTelemetry GenAI semantic conventions (``gen_ai.*``) for
model calls and OpenInference names (``input.value``, ``session.id``…) for what GenAI
leaves open; a few facts neither names live under ``windlass.*``. Ingest also reads
the other common spellings (see :mod:`windlass.genai.tracing.conventions`).
"""

from __future__ import annotations

# -- what a span is ----------------------------------------------------------------------
SPAN_KIND = "windlass.span.kind"
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"

# -- inputs and outputs (OpenInference) --------------------------------------------------
INPUT_VALUE = "input.value"
INPUT_MIME_TYPE = "input.mime_type"
OUTPUT_VALUE = "output.value"
OUTPUT_MIME_TYPE = "output.mime_type"

# -- who and where (OpenInference) ---------------------------------------------------------
SESSION_ID = "session.id"
USER_ID = "user.id"
RUN_ID = "windlass.run_id"
PROMPT_NAME = "windlass.prompt.name"
PROMPT_VERSION = "windlass.prompt.version"
PROJECT = "windlass.project"  # a resource attribute: the project spans are filed under

# -- model calls (OpenTelemetry GenAI semantic conventions) --------------------------------
OPERATION_NAME = "gen_ai.operation.name"  # chat, text_completion, embeddings, execute_tool
PROVIDER_NAME = "gen_ai.provider.name"
SYSTEM = "gen_ai.system"  # the older spelling of the provider
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_SEED = "gen_ai.request.seed"
REQUEST_STOP = "gen_ai.request.stop_sequences"
REQUEST_FREQUENCY_PENALTY = "gen_ai.request.frequency_penalty"
REQUEST_PRESENCE_PENALTY = "gen_ai.request.presence_penalty"
INPUT_MESSAGES = "gen_ai.input.messages"  # JSON list of chat messages
OUTPUT_MESSAGES = "gen_ai.output.messages"  # JSON list of output messages (tool calls too)
TOOL_DEFINITIONS = "gen_ai.tool.definitions"  # JSON list of the tools offered
USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens"  # includes cached input tokens
USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens"  # includes reasoning tokens
USAGE_CACHED_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens"
USAGE_REASONING_TOKENS = "windlass.usage.reasoning_tokens"
TIME_TO_FIRST_TOKEN_S = "windlass.llm.time_to_first_token"  # noqa: S105 - a name; seconds, streams only
COST = "windlass.cost"  # US dollars, set by windlass from the price table
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
