"""The OpenAI method table: one row per Node-RED method name, and nothing else.

(Over 500 lines because it is the table itself: 161 rows, one per method of the
Node-RED node, each a few lines of data; no logic lives here.)

Everything about a method that is not in its row is derived from the
official SDK: the parameters, their types, which are required and what they
mean come from the signature and docstring of the SDK call named by
`sdk_path` (see `_params.py`); dispatch walks `sdk_path` on the shared client
(see `_dispatch.py`); the docs are generated from both (see `docs.py`).
Adding a service is adding rows. What kind of call a row is (a list, a
binary download, file uploads, a stream, a local helper) is read from the SDK
call's signature too (`_params.traits`), so rows only say what the SDK cannot:
Node-RED's name and service, which parameters are URL ids, and docs text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, eq=False)  # identity hash: rows are singletons, caches key on them
class Method:
    """One callable API method, as a flow names it."""

    name: str                         # Node-RED's method name (the `method` property)
    service: str                      # the Node-RED service group ("runs", "threads", ...)
    sdk_path: tuple[str, ...]         # attribute path on AsyncOpenAI, e.g. ("beta", "threads", "runs", "create")
    summary: str                      # one line for docs and the editor
    ids: tuple[str, ...] = ()         # path ids taken out of the payload (passed to the SDK by keyword)
    returns_run: bool = False         # result is a run: the `wait` option may poll it
    query: tuple[str, ...] = ()       # non-id parameters the SDK sends in the query string (docs)
    returns: str = ""                 # what msg.payload holds afterwards (docs)
    notes: str = ""                   # extra docs text
    example: dict[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()     # extra names besides the derived snake_case one
    since: str = "1.103.0"            # the node-red-openai-api version that offers it ("flowwire": only here)
    force_stream: bool = False        # always streams (Node-RED's streamModelResponse)
    none_result: dict[str, Any] = field(default_factory=dict)  # payload (plus the ids) when the API answers nothing
    unavailable: str = ""             # why there is no API behind this name (a validation error for flows)
    sdk_parsed: bool = False          # the SDK reworks the answer (e.g. decodes base64 vectors): use its result
    socket: bool = False              # a WebSocket the node keeps open across messages (see _websocket.py)


_RUN = "the [run object](https://platform.openai.com/docs/api-reference/runs/object)"
_STEP = "a [run step object](https://platform.openai.com/docs/api-reference/run-steps/step-object)"
_PAGE = ("`after`, `before`, `limit` and `order` page through the list; set the node's *fetch all pages* "
         "option to get every item (the SDK follows the cursors).")
_WAIT = ("With the node's *wait* option the run is polled (the SDK's poll helper) until it is terminal or "
         "`requires_action`, and that run is the result.")
_STREAM = ("With `stream: true` the node sends one msg per server event, in order: `msg.event` is the event "
           "name (`thread.run.created`, `thread.message.delta`, ...), `msg.payload` its data; the last msg has "
           "`msg.event = \"done\"` and `msg.openai.done = true`.")

_STREAM_CHAT = ("With `stream: true` the node sends one msg per chunk, in order: `msg.event` is "
                "`chat.completion.chunk`, `msg.payload` the chunk; the last msg has `msg.event = \"done\"`, "
                "`msg.openai.done = true` and the whole completion, assembled from the chunks, as payload.")
_STREAM_RESPONSES = ("With `stream: true` the node sends one msg per server event, in order: `msg.event` is the "
                     "event type (`response.created`, `response.output_text.delta`, ...), `msg.payload` the event; "
                     "the last msg has `msg.event = \"done\"`, `msg.openai.done = true` and the final response as "
                     "payload.")
_WEBHOOK = ("`payload` is the raw request body (a string, exactly as received), `headers` the request's headers; "
            "`secret` defaults to the config node's client (`$OPENAI_WEBHOOK_SECRET`). No request is sent.")
_REMOVED = ("OpenAI removed the Assistants v1 file endpoints; attach files through `tool_resources` "
            "(createAssistant / modifyAssistant) or vector stores instead")

#: Node-RED's service groups, in the order its editor lists them, with their titles.
SERVICES: dict[str, str] = {
    "assistants": "Assistants (Beta)", "audio": "Audio", "batch": "Batch", "chat": "Chat",
    "chatkit": "ChatKit", "container-files": "Container Files", "containers": "Containers",
    "conversations": "Conversations", "embeddings": "Embeddings", "evals": "Evals", "files": "Files",
    "fine-tuning": "Fine-tuning", "images": "Images", "messages": "Messages (Beta)", "models": "Models",
    "moderations": "Moderations", "realtime": "Realtime", "responses": "Responses", "runs": "Runs (Beta)",
    "skills": "Skills", "threads": "Threads (Beta)", "uploads": "Uploads", "vector-stores": "Vector Stores",
    "vector-store-files": "Vector Store Files", "vector-store-file-batches": "Vector Store File Batches",
    "videos": "Videos", "webhooks": "Webhooks",
}


def _p(dotted: str) -> tuple[str, ...]:
    return tuple(dotted.split("."))


def _unavailable_row(name: str, service: str, why: str) -> Method:
    return Method(name, service, (), "No API behind this name.", unavailable=why, returns="nothing")


def _unavailable(*names: str) -> tuple[Method, ...]:
    return tuple(_unavailable_row(n, "assistants", _REMOVED) for n in names)


METHODS: tuple[Method, ...] = (
    # -- Runs (the `openai-runs` node) -------------------------------------------------------------------
    Method(
        "createThreadAndRun", "runs", ("beta", "threads", "create_and_run"),
        "Create a thread and run it in one request.",
        returns_run=True, returns=_RUN, notes=f"{_WAIT} {_STREAM}",
        example={"assistant_id": "asst_abc123",
                 "thread": {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}},
    ),
    Method(
        "listRuns", "runs", ("beta", "threads", "runs", "list"),
        "List the runs of a thread.",
        ids=("thread_id",), query=("after", "before", "limit", "order"),
        returns="a list of run objects", notes=_PAGE,
        example={"thread_id": "thread_abc123", "limit": 20, "order": "desc"},
    ),
    Method(
        "createRun", "runs", ("beta", "threads", "runs", "create"),
        "Create a run on an existing thread.",
        ids=("thread_id",), returns_run=True, query=("include",), returns=_RUN,
        notes=f"{_WAIT} {_STREAM}",
        example={"thread_id": "thread_abc123", "assistant_id": "asst_abc123"},
    ),
    Method(
        "getRun", "runs", ("beta", "threads", "runs", "retrieve"),
        "Retrieve a run.",
        ids=("thread_id", "run_id"), returns_run=True, returns=_RUN, notes=_WAIT,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123"}, aliases=("retrieve_run",),
    ),
    Method(
        "modifyRun", "runs", ("beta", "threads", "runs", "update"),
        "Modify a run (only its metadata can change).",
        ids=("thread_id", "run_id"), returns_run=True, returns=_RUN,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "metadata": {"user": "u-42"}},
        aliases=("update_run",),
    ),
    Method(
        "submitToolOutputsToRun", "runs", ("beta", "threads", "runs", "submit_tool_outputs"),
        "Submit the outputs of the tool calls a run in `requires_action` is waiting for, all in one request.",
        ids=("thread_id", "run_id"), returns_run=True, returns=_RUN, notes=f"{_WAIT} {_STREAM}",
        example={"thread_id": "thread_abc123", "run_id": "run_abc123",
                 "tool_outputs": [{"tool_call_id": "call_abc123", "output": "22 °C, sunny"}]},
        aliases=("submit_tool_outputs",),
    ),
    Method(
        "cancelRun", "runs", ("beta", "threads", "runs", "cancel"),
        "Cancel a run that is `queued`, `in_progress` or `requires_action`.",
        ids=("thread_id", "run_id"), returns_run=True, returns=f"{_RUN} (status `cancelling`)", notes=_WAIT,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123"},
    ),
    Method(
        "listRunSteps", "runs", ("beta", "threads", "runs", "steps", "list"),
        "List the steps of a run.",
        ids=("thread_id", "run_id"), query=("after", "before", "limit", "order", "include"),
        returns="a list of run step objects", notes=_PAGE,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "order": "asc"},
    ),
    Method(
        "getRunStep", "runs", ("beta", "threads", "runs", "steps", "retrieve"),
        "Retrieve one step of a run.",
        ids=("thread_id", "run_id", "step_id"), query=("include",), returns=_STEP,
        example={"thread_id": "thread_abc123", "run_id": "run_abc123", "step_id": "step_abc123"},
        aliases=("retrieve_run_step",),
    ),
    # -- Assistants, Threads, Messages (the generic `openai-api` node) --------------------------------------
    Method("createAssistant", "assistants", ("beta", "assistants", "create"), "Create an assistant.",
           returns="the assistant object",
           example={"model": "gpt-4o", "name": "Weather", "tools": [{"type": "function", "function": {
               "name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}]}),
    Method("listAssistants", "assistants", ("beta", "assistants", "list"), "List assistants.",
           query=("after", "before", "limit", "order"), returns="a list of assistant objects",
           notes=_PAGE, example={"limit": 20}),
    Method("getAssistant", "assistants", ("beta", "assistants", "retrieve"), "Retrieve an assistant.",
           ids=("assistant_id",), returns="the assistant object", example={"assistant_id": "asst_abc123"}),
    Method("modifyAssistant", "assistants", ("beta", "assistants", "update"), "Modify an assistant.",
           ids=("assistant_id",), returns="the assistant object",
           example={"assistant_id": "asst_abc123", "instructions": "Answer briefly."}),
    Method("deleteAssistant", "assistants", ("beta", "assistants", "delete"), "Delete an assistant.",
           ids=("assistant_id",), returns="the deletion status", example={"assistant_id": "asst_abc123"}),
    Method("createThread", "threads", ("beta", "threads", "create"), "Create a thread.",
           returns="the thread object", example={"messages": [{"role": "user", "content": "Hello"}]}),
    Method("getThread", "threads", ("beta", "threads", "retrieve"), "Retrieve a thread.",
           ids=("thread_id",), returns="the thread object", example={"thread_id": "thread_abc123"}),
    Method("modifyThread", "threads", ("beta", "threads", "update"), "Modify a thread.",
           ids=("thread_id",), returns="the thread object",
           example={"thread_id": "thread_abc123", "metadata": {"topic": "weather"}}),
    Method("deleteThread", "threads", ("beta", "threads", "delete"), "Delete a thread.",
           ids=("thread_id",), returns="the deletion status", example={"thread_id": "thread_abc123"}),
    Method("listMessages", "messages", ("beta", "threads", "messages", "list"), "List the messages of a thread.",
           ids=("thread_id",), query=("after", "before", "limit", "order", "run_id"),
           returns="a list of message objects", notes=_PAGE, example={"thread_id": "thread_abc123", "order": "asc"}),
    Method("createMessage", "messages", ("beta", "threads", "messages", "create"), "Add a message to a thread.",
           ids=("thread_id",), returns="the message object",
           example={"thread_id": "thread_abc123", "role": "user", "content": "And tomorrow?"}),
    Method("getMessage", "messages", ("beta", "threads", "messages", "retrieve"), "Retrieve a message.",
           ids=("thread_id", "message_id"), returns="the message object",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123"}),
    Method("modifyMessage", "messages", ("beta", "threads", "messages", "update"), "Modify a message's metadata.",
           ids=("thread_id", "message_id"), returns="the message object",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123", "metadata": {"seen": "yes"}}),
    Method("deleteMessage", "messages", ("beta", "threads", "messages", "delete"), "Delete a message.",
           ids=("thread_id", "message_id"), returns="the deletion status", since="6.34.0",
           example={"thread_id": "thread_abc123", "message_id": "msg_abc123"}),
    # -- the rest of node-red-openai-api 1.103.0 -----------------------------------------------------------
    *_unavailable("listAssistantFiles", "createAssistantFile", "getAssistantFile", "deleteAssistantFile"),
    # audio
    Method("createSpeech", "audio", _p("audio.speech.create"), "Generate spoken audio from text.",
           returns="the audio file as bytes (`msg.openai.content_type` says its format)",
           example={"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "Hello from flowwire.",
                    "response_format": "wav"}),
    Method("createTranscription", "audio", _p("audio.transcriptions.create"), "Transcribe audio into text.",
           returns="the transcription object (`text`, ...), or text for `response_format` text, srt or vtt",
           example={"model": "gpt-4o-transcribe", "file": "/data/hello.wav"}),
    Method("createTranslation", "audio", _p("audio.translations.create"), "Translate audio into English text.",
           returns="the translation object (`text`)", example={"model": "whisper-1", "file": "/data/hallo.wav"}),
    # batch
    Method("createBatch", "batch", _p("batches.create"), "Create a batch from an uploaded JSONL file of requests.",
           returns="the batch object",
           example={"input_file_id": "file-abc123", "endpoint": "/v1/chat/completions", "completion_window": "24h"}),
    Method("retrieveBatch", "batch", _p("batches.retrieve"), "Retrieve a batch.", ids=("batch_id",),
           returns="the batch object", example={"batch_id": "batch_abc123"}),
    Method("cancelBatch", "batch", _p("batches.cancel"), "Cancel an in-progress batch.", ids=("batch_id",),
           returns="the batch object (status `cancelling`)", example={"batch_id": "batch_abc123"}),
    Method("listBatch", "batch", _p("batches.list"), "List batches.",
           returns="a list of batch objects", notes=_PAGE, example={"limit": 10}, aliases=("listBatches",)),
    # chat
    Method("createChatCompletion", "chat", _p("chat.completions.create"),
           "Create a model response for a chat conversation.",
           returns="the chat completion object", notes=_STREAM_CHAT,
           example={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello!"}]}),
    Method("getChatCompletion", "chat", _p("chat.completions.retrieve"),
           "Retrieve a stored chat completion (created with `store: true`).", ids=("completion_id",),
           returns="the chat completion object", example={"completion_id": "chatcmpl-abc123"}),
    Method("getChatMessages", "chat", _p("chat.completions.messages.list"),
           "List the messages of a stored chat completion.", ids=("completion_id",),
           returns="a list of messages", notes=_PAGE, example={"completion_id": "chatcmpl-abc123"}),
    Method("listChatCompletions", "chat", _p("chat.completions.list"), "List stored chat completions.",
           returns="a list of chat completion objects", notes=_PAGE, example={"limit": 10}),
    Method("updateChatCompletion", "chat", _p("chat.completions.update"),
           "Update the metadata of a stored chat completion.", ids=("completion_id",),
           returns="the chat completion object",
           example={"completion_id": "chatcmpl-abc123", "metadata": {"topic": "greeting"}}),
    Method("deleteChatCompletion", "chat", _p("chat.completions.delete"), "Delete a stored chat completion.",
           ids=("completion_id",), returns="the deletion status", example={"completion_id": "chatcmpl-abc123"}),
    # container files
    Method("listContainerFiles", "container-files", _p("containers.files.list"), "List the files of a container.",
           ids=("container_id",), returns="a list of container file objects", notes=_PAGE,
           example={"container_id": "cntr_abc123"}),
    Method("addContainerFile", "container-files", _p("containers.files.create"),
           "Add a file to a container: upload one (`file`) or copy an uploaded one (`file_id`).",
           ids=("container_id",), returns="the container file object",
           example={"container_id": "cntr_abc123", "file": "/data/report.csv"}, aliases=("createContainerFile",)),
    Method("retrieveContainerFile", "container-files", _p("containers.files.retrieve"), "Retrieve a container file.",
           ids=("container_id", "file_id"), returns="the container file object",
           example={"container_id": "cntr_abc123", "file_id": "cfile_abc123"}),
    Method("deleteContainerFile", "container-files", _p("containers.files.delete"), "Delete a container file.",
           ids=("container_id", "file_id"), returns="`{id, object, deleted}` for the file",
           none_result={"object": "container.file.deleted", "deleted": True},
           example={"container_id": "cntr_abc123", "file_id": "cfile_abc123"}),
    Method("downloadContainerFileContent", "container-files", _p("containers.files.content.retrieve"),
           "Download the content of a container file.", ids=("container_id", "file_id"),
           returns="the file's bytes (`msg.openai.content_type` says their type)",
           example={"container_id": "cntr_abc123", "file_id": "cfile_abc123"}),
    # containers
    Method("listContainers", "containers", _p("containers.list"), "List containers.",
           returns="a list of container objects", notes=_PAGE, example={"limit": 10}),
    Method("createContainer", "containers", _p("containers.create"), "Create a container (code interpreter sandbox).",
           returns="the container object", example={"name": "analysis"}),
    Method("retrieveContainer", "containers", _p("containers.retrieve"), "Retrieve a container.",
           ids=("container_id",), returns="the container object", example={"container_id": "cntr_abc123"}),
    Method("deleteContainer", "containers", _p("containers.delete"), "Delete a container.", ids=("container_id",),
           returns="`{id, object, deleted}` for the container",
           none_result={"object": "container.deleted", "deleted": True}, example={"container_id": "cntr_abc123"}),
    # embeddings
    Method("createEmbedding", "embeddings", _p("embeddings.create"), "Create embedding vectors for text.",
           returns="the list response (`data` is one embedding object per input, with `model` and `usage`)",
           sdk_parsed=True,
           example={"model": "text-embedding-3-small", "input": "The food was delicious."}),
    # files
    Method("listFiles", "files", _p("files.list"), "List uploaded files.",
           returns="a list of file objects", notes=_PAGE, example={"purpose": "assistants"}),
    Method("createFile", "files", _p("files.create"), "Upload a file.", returns="the file object",
           example={"file": "/data/notes.txt", "purpose": "assistants"}, aliases=("uploadFile",)),
    Method("deleteFile", "files", _p("files.delete"), "Delete a file.", ids=("file_id",),
           returns="the deletion status", example={"file_id": "file-abc123"}),
    Method("retrieveFile", "files", _p("files.retrieve"), "Retrieve a file object.", ids=("file_id",),
           returns="the file object", example={"file_id": "file-abc123"}),
    Method("downloadFile", "files", _p("files.content"), "Download the content of a file.", ids=("file_id",),
           returns="the file's bytes (`msg.openai.content_type` says their type)", example={"file_id": "file-abc123"},
           aliases=("retrieveFileContent",)),
    # fine-tuning
    Method("createFineTuningJob", "fine-tuning", _p("fine_tuning.jobs.create"), "Create a fine-tuning job.",
           returns="the fine-tuning job object",
           example={"model": "gpt-4o-mini-2024-07-18", "training_file": "file-abc123"}),
    Method("listPaginatedFineTuningJobs", "fine-tuning", _p("fine_tuning.jobs.list"), "List fine-tuning jobs.",
           returns="a list of fine-tuning job objects", notes=_PAGE, example={"limit": 10},
           aliases=("listFineTuningJobs",)),
    Method("retrieveFineTuningJob", "fine-tuning", _p("fine_tuning.jobs.retrieve"), "Retrieve a fine-tuning job.",
           ids=("fine_tuning_job_id",), returns="the fine-tuning job object",
           example={"fine_tuning_job_id": "ftjob-abc123"}),
    Method("listFineTuningEvents", "fine-tuning", _p("fine_tuning.jobs.list_events"),
           "List the events of a fine-tuning job.", ids=("fine_tuning_job_id",),
           returns="a list of fine-tuning event objects", notes=_PAGE, example={"fine_tuning_job_id": "ftjob-abc123"}),
    Method("listFineTuningCheckpoints", "fine-tuning", _p("fine_tuning.jobs.checkpoints.list"),
           "List the checkpoints of a fine-tuning job.", ids=("fine_tuning_job_id",),
           returns="a list of checkpoint objects", notes=_PAGE, example={"fine_tuning_job_id": "ftjob-abc123"}),
    Method("cancelFineTuningJob", "fine-tuning", _p("fine_tuning.jobs.cancel"), "Cancel a fine-tuning job.",
           ids=("fine_tuning_job_id",), returns="the fine-tuning job object",
           example={"fine_tuning_job_id": "ftjob-abc123"}),
    Method("pauseFineTuningJob", "fine-tuning", _p("fine_tuning.jobs.pause"), "Pause a running fine-tuning job.",
           ids=("fine_tuning_job_id",), returns="the fine-tuning job object", since="flowwire",
           example={"fine_tuning_job_id": "ftjob-abc123"}),
    Method("resumeFineTuningJob", "fine-tuning", _p("fine_tuning.jobs.resume"), "Resume a paused fine-tuning job.",
           ids=("fine_tuning_job_id",), returns="the fine-tuning job object", since="flowwire",
           example={"fine_tuning_job_id": "ftjob-abc123"}),
    # images
    Method("createImage", "images", _p("images.generate"), "Generate images from a prompt.",
           returns="the images response (`data`: `url` or `b64_json` per image)",
           example={"model": "gpt-image-1", "prompt": "A lighthouse at dawn", "size": "1024x1024"}),
    Method("createImageEdit", "images", _p("images.edit"), "Edit or extend one or more images from a prompt.",
           returns="the images response", example={"image": "/data/room.png", "prompt": "Add a plant"}),
    Method("createImageVariation", "images", _p("images.create_variation"), "Create variations of an image.",
           returns="the images response", example={"image": "/data/logo.png", "n": 2}),
    # models
    Method("listModels", "models", _p("models.list"), "List the available models.",
           returns="a list of model objects", example={}),
    Method("retrieveModel", "models", _p("models.retrieve"), "Retrieve a model.", ids=("model",),
           returns="the model object", example={"model": "gpt-4o-mini"}),
    Method("deleteModel", "models", _p("models.delete"), "Delete a fine-tuned model you own.", ids=("model",),
           returns="the deletion status", example={"model": "ft:gpt-4o-mini:acme::abc123"}),
    # moderations
    Method("createModeration", "moderations", _p("moderations.create"), "Classify text or images as harmful or not.",
           returns="the moderation object", example={"model": "omni-moderation-latest", "input": "I want to help."}),
    # responses
    Method("createModelResponse", "responses", _p("responses.create"), "Create a model response (the Responses API).",
           returns="the response object", notes=_STREAM_RESPONSES,
           example={"model": "gpt-4o-mini", "input": "Write a haiku about flows."}),
    Method("getModelResponse", "responses", _p("responses.retrieve"), "Retrieve a stored model response.",
           ids=("response_id",), returns="the response object",
           example={"response_id": "resp_abc123"}),
    Method("deleteModelResponse", "responses", _p("responses.delete"), "Delete a stored model response.",
           ids=("response_id",), returns="`{id, object, deleted}` for the response",
           none_result={"object": "response.deleted", "deleted": True}, example={"response_id": "resp_abc123"}),
    Method("listInputItems", "responses", _p("responses.input_items.list"), "List the input items of a response.",
           ids=("response_id",), returns="a list of input items", notes=_PAGE,
           example={"response_id": "resp_abc123"}),
    # threads: see the Assistants rows above; uploads
    Method("createUpload", "uploads", _p("uploads.create"),
           "Start a multi-part upload (add parts, then complete it).", returns="the upload object (status `pending`)",
           example={"filename": "big.jsonl", "purpose": "batch", "bytes": 2147483648,
                    "mime_type": "application/jsonl"}),
    Method("addUploadPart", "uploads", _p("uploads.parts.create"), "Add a part (at most 64 MB) to an upload.",
           ids=("upload_id",), returns="the upload part object",
           example={"upload_id": "upload_abc123", "data": "/data/big.part1"}),
    Method("completeUpload", "uploads", _p("uploads.complete"),
           "Complete an upload: the parts, in order, become a file.", ids=("upload_id",),
           returns="the upload object (status `completed`, with the `file`)",
           example={"upload_id": "upload_abc123", "part_ids": ["part_def456", "part_ghi789"]}),
    Method("cancelUpload", "uploads", _p("uploads.cancel"), "Cancel an upload.", ids=("upload_id",),
           returns="the upload object (status `cancelled`)", example={"upload_id": "upload_abc123"}),
    # vector stores
    Method("createVectorStore", "vector-stores", _p("vector_stores.create"), "Create a vector store.",
           returns="the vector store object", example={"name": "Support FAQ", "file_ids": ["file-abc123"]}),
    Method("listVectorStores", "vector-stores", _p("vector_stores.list"), "List vector stores.",
           returns="a list of vector store objects", notes=_PAGE, example={"limit": 10}),
    Method("retrieveVectorStore", "vector-stores", _p("vector_stores.retrieve"), "Retrieve a vector store.",
           ids=("vector_store_id",), returns="the vector store object", example={"vector_store_id": "vs_abc123"}),
    Method("modifyVectorStore", "vector-stores", _p("vector_stores.update"), "Modify a vector store.",
           ids=("vector_store_id",), returns="the vector store object",
           example={"vector_store_id": "vs_abc123", "name": "Support FAQ (2025)"}),
    Method("deleteVectorStore", "vector-stores", _p("vector_stores.delete"), "Delete a vector store.",
           ids=("vector_store_id",), returns="the deletion status", example={"vector_store_id": "vs_abc123"}),
    Method("searchVectorStore", "vector-stores", _p("vector_stores.search"),
           "Search a vector store for chunks relevant to a query.", ids=("vector_store_id",),
           since="6.34.0", returns="a list of search results (`file_id`, `filename`, `score`, `content`)",
           example={"vector_store_id": "vs_abc123", "query": "return policy"}),
    # vector store files
    Method("createVectorStoreFile", "vector-store-files", _p("vector_stores.files.create"),
           "Attach an uploaded file to a vector store.", ids=("vector_store_id",),
           returns="the vector store file object", example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    Method("listVectorStoreFiles", "vector-store-files", _p("vector_stores.files.list"),
           "List the files of a vector store.", ids=("vector_store_id",),
           returns="a list of vector store file objects", notes=_PAGE, example={"vector_store_id": "vs_abc123"}),
    Method("retrieveVectorStoreFile", "vector-store-files", _p("vector_stores.files.retrieve"),
           "Retrieve a vector store file.", ids=("vector_store_id", "file_id"),
           returns="the vector store file object", example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    Method("deleteVectorStoreFile", "vector-store-files", _p("vector_stores.files.delete"),
           "Remove a file from a vector store (the file itself stays).", ids=("vector_store_id", "file_id"),
           returns="the deletion status", example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    Method("createAndPollVectorStoreFile", "vector-store-files", _p("vector_stores.files.create_and_poll"),
           "Attach a file and wait until it is processed (the SDK's poll helper).", ids=("vector_store_id",),
           since="6.34.0", returns="the vector store file object (status `completed` or `failed`)",
           example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    Method("uploadVectorStoreFile", "vector-store-files", _p("vector_stores.files.upload"),
           "Upload a file and attach it to a vector store.", ids=("vector_store_id",), since="6.34.0",
           returns="the vector store file object", example={"vector_store_id": "vs_abc123", "file": "/data/faq.md"}),
    Method("uploadAndPollVectorStoreFile", "vector-store-files", _p("vector_stores.files.upload_and_poll"),
           "Upload a file, attach it, and wait until it is processed.", ids=("vector_store_id",), since="6.34.0",
           returns="the vector store file object", example={"vector_store_id": "vs_abc123", "file": "/data/faq.md"}),
    Method("pollVectorStoreFile", "vector-store-files", _p("vector_stores.files.poll"),
           "Wait until a vector store file is processed.", ids=("vector_store_id", "file_id"), since="6.34.0",
           returns="the vector store file object", example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    Method("modifyVectorStoreFile", "vector-store-files", _p("vector_stores.files.update"),
           "Change the attributes of a vector store file.", ids=("vector_store_id", "file_id"), since="6.34.0",
           returns="the vector store file object",
           example={"vector_store_id": "vs_abc123", "file_id": "file-abc123", "attributes": {"lang": "en"}}),
    Method("getVectorStoreFileContent", "vector-store-files", _p("vector_stores.files.content"),
           "The parsed text content of a vector store file.", ids=("vector_store_id", "file_id"),
           since="6.34.0", returns="a list of `{type, text}` chunks",
           example={"vector_store_id": "vs_abc123", "file_id": "file-abc123"}),
    # vector store file batches
    Method("createVectorStoreFileBatch", "vector-store-file-batches", _p("vector_stores.file_batches.create"),
           "Attach several uploaded files to a vector store at once.", ids=("vector_store_id",),
           returns="the vector store file batch object",
           example={"vector_store_id": "vs_abc123", "file_ids": ["file-abc123", "file-def456"]}),
    Method("retrieveVectorStoreFileBatch", "vector-store-file-batches", _p("vector_stores.file_batches.retrieve"),
           "Retrieve a vector store file batch.", ids=("vector_store_id", "batch_id"),
           returns="the vector store file batch object", example={"vector_store_id": "vs_abc123", "batch_id": "vsfb_abc"}),
    Method("cancelVectorStoreFileBatch", "vector-store-file-batches", _p("vector_stores.file_batches.cancel"),
           "Cancel a vector store file batch.", ids=("vector_store_id", "batch_id"),
           returns="the vector store file batch object", example={"vector_store_id": "vs_abc123", "batch_id": "vsfb_abc"}),
    Method("listVectorStoreBatchFiles", "vector-store-file-batches", _p("vector_stores.file_batches.list_files"),
           "List the files of a vector store file batch.", ids=("vector_store_id", "batch_id"),
           returns="a list of vector store file objects", notes=_PAGE,
           example={"vector_store_id": "vs_abc123", "batch_id": "vsfb_abc"}),
    Method("uploadAndPollVectorStoreFileBatch", "vector-store-file-batches",
           _p("vector_stores.file_batches.upload_and_poll"),
           "Upload several files, attach them as one batch, and wait until they are processed.",
           ids=("vector_store_id",), returns="the vector store file batch object",
           example={"vector_store_id": "vs_abc123", "files": ["/data/a.md", "/data/b.md"]}),
    Method("createAndPollVectorStoreFileBatch", "vector-store-file-batches",
           _p("vector_stores.file_batches.create_and_poll"),
           "Attach uploaded files as one batch and wait until they are processed.", ids=("vector_store_id",),
           since="6.34.0", returns="the vector store file batch object",
           example={"vector_store_id": "vs_abc123", "file_ids": ["file-abc123"]}),
    Method("pollVectorStoreFileBatch", "vector-store-file-batches", _p("vector_stores.file_batches.poll"),
           "Wait until a vector store file batch is processed.", ids=("vector_store_id", "batch_id"), since="6.34.0",
           returns="the vector store file batch object", example={"vector_store_id": "vs_abc123", "batch_id": "vsfb_abc"}),
    # -- added by node-red-openai-api 6.34.0 ---------------------------------------------------------------
    # chatkit
    Method("createChatKitSession", "chatkit", _p("beta.chatkit.sessions.create"), "Create a ChatKit session.",
           since="6.34.0", returns="the ChatKit session object",
           example={"user": "user-42", "workflow": {"id": "wf_abc123"}}),
    Method("cancelChatKitSession", "chatkit", _p("beta.chatkit.sessions.cancel"), "Cancel a ChatKit session.",
           ids=("session_id",), since="6.34.0", returns="the ChatKit session object",
           example={"session_id": "cksess_abc123"}),
    Method("getChatKitThread", "chatkit", _p("beta.chatkit.threads.retrieve"), "Retrieve a ChatKit thread.",
           ids=("thread_id",), since="6.34.0", returns="the ChatKit thread object",
           example={"thread_id": "cthr_abc123"}),
    Method("listChatKitThreads", "chatkit", _p("beta.chatkit.threads.list"), "List ChatKit threads.",
           since="6.34.0", returns="a list of ChatKit thread objects", notes=_PAGE,
           example={"limit": 10}),
    Method("deleteChatKitThread", "chatkit", _p("beta.chatkit.threads.delete"), "Delete a ChatKit thread.",
           ids=("thread_id",), since="6.34.0", returns="the deletion status", example={"thread_id": "cthr_abc123"}),
    Method("listChatKitThreadItems", "chatkit", _p("beta.chatkit.threads.list_items"),
           "List the items of a ChatKit thread.", ids=("thread_id",), since="6.34.0",
           returns="a list of thread items", notes=_PAGE, example={"thread_id": "cthr_abc123"}),
    # conversations
    Method("createConversation", "conversations", _p("conversations.create"),
           "Create a conversation (state shared by responses).", since="6.34.0",
           returns="the conversation object",
           example={"items": [{"type": "message", "role": "user", "content": "Hello!"}]}),
    Method("getConversation", "conversations", _p("conversations.retrieve"), "Retrieve a conversation.",
           ids=("conversation_id",), since="6.34.0", returns="the conversation object",
           example={"conversation_id": "conv_abc123"}),
    Method("modifyConversation", "conversations", _p("conversations.update"), "Update a conversation's metadata.",
           ids=("conversation_id",), since="6.34.0", returns="the conversation object",
           example={"conversation_id": "conv_abc123", "metadata": {"topic": "billing"}}),
    Method("deleteConversation", "conversations", _p("conversations.delete"), "Delete a conversation.",
           ids=("conversation_id",), since="6.34.0", returns="the deletion status",
           example={"conversation_id": "conv_abc123"}),
    Method("createConversationItem", "conversations", _p("conversations.items.create"),
           "Add items to a conversation.", ids=("conversation_id",), since="6.34.0",
           returns="the list of created items",
           example={"conversation_id": "conv_abc123",
                    "items": [{"type": "message", "role": "user", "content": "And tomorrow?"}]}),
    Method("getConversationItem", "conversations", _p("conversations.items.retrieve"),
           "Retrieve one item of a conversation.", ids=("conversation_id", "item_id"), since="6.34.0",
           returns="the item", example={"conversation_id": "conv_abc123", "item_id": "msg_abc123"}),
    Method("listConversationItems", "conversations", _p("conversations.items.list"),
           "List the items of a conversation.", ids=("conversation_id",), since="6.34.0",
           returns="a list of items", notes=_PAGE, example={"conversation_id": "conv_abc123", "order": "asc"}),
    Method("deleteConversationItem", "conversations", _p("conversations.items.delete"),
           "Delete an item from a conversation.", ids=("conversation_id", "item_id"), since="6.34.0",
           returns="the conversation object", example={"conversation_id": "conv_abc123", "item_id": "msg_abc123"}),
    # evals
    Method("listEvals", "evals", _p("evals.list"), "List evaluations.", since="6.34.0",
           returns="a list of eval objects", notes=_PAGE, example={"limit": 10}),
    Method("createEval", "evals", _p("evals.create"), "Create an evaluation (data source and testing criteria).",
           since="6.34.0", returns="the eval object",
           example={"name": "tone", "data_source_config": {"type": "custom", "item_schema": {
               "type": "object", "properties": {"text": {"type": "string"}}}},
               "testing_criteria": [{"type": "string_check", "name": "polite", "input": "{{item.text}}",
                                     "operation": "ilike", "reference": "%please%"}]}),
    Method("getEval", "evals", _p("evals.retrieve"), "Retrieve an evaluation.", ids=("eval_id",), since="6.34.0",
           returns="the eval object", example={"eval_id": "eval_abc123"}),
    Method("modifyEval", "evals", _p("evals.update"), "Rename an evaluation or change its metadata.",
           ids=("eval_id",), since="6.34.0", returns="the eval object",
           example={"eval_id": "eval_abc123", "name": "tone v2"}),
    Method("deleteEval", "evals", _p("evals.delete"), "Delete an evaluation.", ids=("eval_id",), since="6.34.0",
           returns="the deletion status", example={"eval_id": "eval_abc123"}),
    Method("listEvalRuns", "evals", _p("evals.runs.list"), "List the runs of an evaluation.", ids=("eval_id",),
           since="6.34.0", returns="a list of eval run objects", notes=_PAGE,
           example={"eval_id": "eval_abc123"}),
    Method("createEvalRun", "evals", _p("evals.runs.create"), "Start a run of an evaluation.", ids=("eval_id",),
           since="6.34.0", returns="the eval run object",
           example={"eval_id": "eval_abc123", "data_source": {"type": "jsonl", "source": {
               "type": "file_content", "content": [{"item": {"text": "please help"}}]}}}),
    Method("getEvalRun", "evals", _p("evals.runs.retrieve"), "Retrieve an eval run.", ids=("eval_id", "run_id"),
           since="6.34.0", returns="the eval run object", example={"eval_id": "eval_abc123", "run_id": "evalrun_abc"}),
    Method("cancelEvalRun", "evals", _p("evals.runs.cancel"), "Cancel an eval run.", ids=("eval_id", "run_id"),
           since="6.34.0", returns="the eval run object", example={"eval_id": "eval_abc123", "run_id": "evalrun_abc"}),
    Method("deleteEvalRun", "evals", _p("evals.runs.delete"), "Delete an eval run.", ids=("eval_id", "run_id"),
           since="6.34.0", returns="the deletion status", example={"eval_id": "eval_abc123", "run_id": "evalrun_abc"}),
    Method("listEvalRunOutputItems", "evals", _p("evals.runs.output_items.list"),
           "List the output items of an eval run.", ids=("eval_id", "run_id"), since="6.34.0",
           returns="a list of output items", notes=_PAGE, example={"eval_id": "eval_abc123", "run_id": "evalrun_abc"}),
    Method("getEvalRunOutputItem", "evals", _p("evals.runs.output_items.retrieve"),
           "Retrieve one output item of an eval run.", ids=("eval_id", "run_id", "output_item_id"), since="6.34.0",
           returns="the output item",
           example={"eval_id": "eval_abc123", "run_id": "evalrun_abc", "output_item_id": "outputitem_abc"}),
    # realtime (HTTP methods only)
    Method("createRealtimeClientSecret", "realtime", _p("realtime.client_secrets.create"),
           "Create an ephemeral client secret for a browser or phone Realtime session.", since="6.34.0",
           returns="the client secret (`value`, `expires_at`, `session`)",
           example={"session": {"type": "realtime", "model": "gpt-realtime"}}),
    Method("acceptRealtimeCall", "realtime", _p("realtime.calls.accept"), "Accept an incoming SIP call.",
           ids=("call_id",), since="6.34.0", none_result={"status": "accepted"},
           returns="`{call_id, status: \"accepted\"}` (the API answers with no body)",
           example={"call_id": "rtc_abc123", "type": "realtime", "model": "gpt-realtime"}),
    Method("hangupRealtimeCall", "realtime", _p("realtime.calls.hangup"), "End a Realtime call.", ids=("call_id",),
           since="6.34.0", none_result={"status": "hung_up"}, returns="`{call_id, status: \"hung_up\"}`",
           example={"call_id": "rtc_abc123"}),
    Method("referRealtimeCall", "realtime", _p("realtime.calls.refer"), "Transfer a SIP call to another address.",
           ids=("call_id",), since="6.34.0", none_result={"status": "referred"},
           returns="`{call_id, status: \"referred\"}`", example={"call_id": "rtc_abc123", "target_uri": "tel:+14155550123"}),
    Method("rejectRealtimeCall", "realtime", _p("realtime.calls.reject"), "Decline an incoming SIP call.",
           ids=("call_id",), since="6.34.0", none_result={"status": "rejected"},
           returns="`{call_id, status: \"rejected\"}`", example={"call_id": "rtc_abc123", "status_code": 486}),
    # responses (added)
    Method("parseModelResponse", "responses", _p("responses.parse"),
           "Create a response and parse its JSON output (`text.format` with a JSON schema).", since="6.34.0",
           returns="the response object, with `output_parsed` when the output is JSON",
           example={"model": "gpt-4o-mini", "input": "Name a colour as JSON.", "text": {"format": {
               "type": "json_schema", "name": "colour", "schema": {"type": "object", "properties": {
                   "name": {"type": "string"}}, "required": ["name"], "additionalProperties": False}}}}),
    Method("streamModelResponse", "responses", _p("responses.create"),
           "Create a model response and stream it (as createModelResponse with `stream: true`).", since="6.34.0",
           force_stream=True, returns="one msg per event, then the final response", notes=_STREAM_RESPONSES,
           example={"model": "gpt-4o-mini", "input": "Count to three."}),
    Method("cancelModelResponse", "responses", _p("responses.cancel"),
           "Cancel a response created with `background: true`.", ids=("response_id",), since="6.34.0",
           returns="the response object", example={"response_id": "resp_abc123"}),
    Method("compactModelResponse", "responses", _p("responses.compact"),
           "Compact a conversation into fewer input items.", since="6.34.0", returns="the compacted response",
           example={"model": "gpt-4o-mini", "input": "A long conversation ..."}),
    Method("countInputTokens", "responses", _p("responses.input_tokens.count"),
           "Count the input tokens a response request would use.", since="6.34.0",
           returns="`{object: \"response.input_tokens\", input_tokens}`",
           example={"model": "gpt-4o-mini", "input": "How many tokens is this?"}),
    Method("manageModelResponseWebSocket", "responses", _p("responses.connect"),
           "Keep a WebSocket to the Responses API open: connect, send `response.create` events, close.",
           since="6.34.0", socket=True, returns="the connection (`connect`, `close`) or the sent event's type (`send`)",
           notes=("Each server event on an open socket leaves the node as a **new** msg: `msg.payload` is the event, "
                  "`msg.openai` = `{transport: \"responses.websocket\", direction: \"server\", connection_id, "
                  "event_type}`. Sockets close with the node (code 1000). A socket that fails is reported to "
                  "`catch` without a msg, as in Node-RED."),
           example={"action": "send", "connection_id": "chat-1",
                    "event": {"type": "response.create", "model": "gpt-4o-mini", "input": "Hello!"}}),
    # skills
    Method("listSkills", "skills", _p("skills.list"), "List skills.", since="6.34.0",
           returns="a list of skill objects", notes=_PAGE, example={"limit": 10}),
    Method("createSkill", "skills", _p("skills.create"), "Create a skill from uploaded files.", since="6.34.0",
           returns="the skill object", example={"files": ["/data/skill/SKILL.md"]}),
    Method("getSkill", "skills", _p("skills.retrieve"), "Retrieve a skill.", ids=("skill_id",), since="6.34.0",
           returns="the skill object", example={"skill_id": "skill_abc123"}),
    Method("modifySkill", "skills", _p("skills.update"), "Set a skill's default version.", ids=("skill_id",),
           since="6.34.0", returns="the skill object", example={"skill_id": "skill_abc123", "default_version": "2"}),
    Method("deleteSkill", "skills", _p("skills.delete"), "Delete a skill.", ids=("skill_id",), since="6.34.0",
           returns="the deletion status", example={"skill_id": "skill_abc123"}),
    Method("getSkillContent", "skills", _p("skills.content.retrieve"), "Download a skill's files (a zip).",
           ids=("skill_id",), since="6.34.0", returns="the bytes of the archive", example={"skill_id": "skill_abc123"}),
    Method("listSkillVersions", "skills", _p("skills.versions.list"), "List the versions of a skill.",
           ids=("skill_id",), since="6.34.0", returns="a list of skill versions", notes=_PAGE,
           example={"skill_id": "skill_abc123"}),
    Method("createSkillVersion", "skills", _p("skills.versions.create"), "Add a version to a skill.",
           ids=("skill_id",), since="6.34.0", returns="the skill version object",
           example={"skill_id": "skill_abc123", "files": ["/data/skill/SKILL.md"], "default": True}),
    Method("getSkillVersion", "skills", _p("skills.versions.retrieve"), "Retrieve a skill version.",
           ids=("skill_id", "version"), since="6.34.0", returns="the skill version object",
           example={"skill_id": "skill_abc123", "version": "2"}),
    Method("deleteSkillVersion", "skills", _p("skills.versions.delete"), "Delete a skill version.",
           ids=("skill_id", "version"), since="6.34.0", returns="the deletion status",
           example={"skill_id": "skill_abc123", "version": "2"}),
    Method("getSkillVersionContent", "skills", _p("skills.versions.content.retrieve"),
           "Download the files of a skill version (a zip).", ids=("skill_id", "version"), since="6.34.0",
           returns="the bytes of the archive", example={"skill_id": "skill_abc123", "version": "2"}),
    # videos
    Method("listVideos", "videos", _p("videos.list"), "List video jobs.", since="6.34.0",
           returns="a list of video objects", notes=_PAGE, example={"limit": 10}),
    Method("createVideo", "videos", _p("videos.create"), "Start a video generation job.", since="6.34.0",
           returns="the video object (status `queued`)", example={"model": "sora-2", "prompt": "A paper boat at sea"}),
    Method("getVideo", "videos", _p("videos.retrieve"), "Retrieve a video job.", ids=("video_id",), since="6.34.0",
           returns="the video object", example={"video_id": "video_abc123"}),
    Method("deleteVideo", "videos", _p("videos.delete"), "Delete a video.", ids=("video_id",), since="6.34.0",
           returns="the deletion status", example={"video_id": "video_abc123"}),
    Method("createVideoCharacter", "videos", _p("videos.create_character"),
           "Create a reusable character from a video clip.", since="6.34.0", returns="the character object",
           example={"name": "Captain", "video": "/data/captain.mp4"}),
    Method("downloadVideoContent", "videos", _p("videos.download_content"),
           "Download a finished video (or its thumbnail or spritesheet).", ids=("video_id",), since="6.34.0",
           returns="the video's bytes (`msg.openai.content_type` says their type)",
           example={"video_id": "video_abc123", "variant": "video"}),
    Method("editVideo", "videos", _p("videos.edit"), "Create a new video by editing an existing one.",
           since="6.34.0", returns="the video object", example={"prompt": "Make it night", "video": {"id": "video_abc123"}}),
    Method("extendVideo", "videos", _p("videos.extend"), "Create a longer video continuing an existing one.",
           since="6.34.0", returns="the video object",
           example={"prompt": "The boat reaches land", "seconds": "4", "video": {"id": "video_abc123"}}),
    Method("getVideoCharacter", "videos", _p("videos.get_character"), "Retrieve a video character.",
           ids=("character_id",), since="6.34.0", returns="the character object",
           example={"character_id": "char_abc123"}),
    Method("remixVideo", "videos", _p("videos.remix"), "Create a video by remixing a finished one.",
           ids=("video_id",), since="6.34.0", returns="the video object",
           example={"video_id": "video_abc123", "prompt": "In watercolour"}),
    # webhooks (local: no HTTP request)
    Method("unwrapWebhookEvent", "webhooks", _p("webhooks.unwrap"),
           "Verify a webhook's signature and parse its event (local, no request).", since="6.34.0",
           returns="the webhook event object", notes=_WEBHOOK,
           example={"payload": "{\"id\": \"evt_abc123\", ...}", "headers": {"webhook-id": "wh_abc", "webhook-timestamp":
                    "1700000000", "webhook-signature": "v1,..."}}),
    Method("verifyWebhookSignature", "webhooks", _p("webhooks.verify_signature"),
           "Verify a webhook's signature (local, no request).", since="6.34.0", none_result={"verified": True},
           returns="`{verified: true}`; a bad signature is a node error", notes=_WEBHOOK,
           example={"payload": "{\"id\": \"evt_abc123\", ...}", "headers": {"webhook-id": "wh_abc", "webhook-timestamp":
                    "1700000000", "webhook-signature": "v1,..."}}),
)


def snake_case(name: str) -> str:
    """`submitToolOutputsToRun` → `submit_tool_outputs_to_run`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _index() -> dict[str, Method]:
    index: dict[str, Method] = {}
    for method in METHODS:
        for key in (method.name, snake_case(method.name), *method.aliases):
            if key in index and index[key] is not method:
                raise RuntimeError(f"method name {key!r} is used by two rows")
            index[key] = method
    return index


BY_NAME: dict[str, Method] = _index()


def names(services: frozenset[str] | None = None) -> list[str]:
    """Every accepted name (canonical and aliases), optionally for some services only."""
    return sorted(k for k, m in BY_NAME.items() if services is None or m.service in services)


def lookup(name: str, services: frozenset[str] | None = None) -> Method | None:
    method = BY_NAME.get(name)
    if method is None or (services is not None and method.service not in services):
        return None
    return method


RUNS = frozenset({"runs"})


def by_service() -> dict[str, list[Method]]:
    """Rows grouped by service, services in `SERVICES` order."""
    groups: dict[str, list[Method]] = {s: [] for s in SERVICES}
    for method in METHODS:
        groups[method.service].append(method)
    return {s: rows for s, rows in groups.items() if rows}
