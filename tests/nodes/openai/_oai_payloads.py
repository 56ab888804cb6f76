"""A minimal valid payload for every method of the table, and how to make the objects they name.

`PAYLOADS[method]` is what a flow would put in `msg.payload`; a string
`"{name}"` (anywhere, or as the whole payload) stands for the id (or path, or
value) made by `SETUP[name]`,
which the test creates first against the same emulator with the bare SDK.
Setups may need others (`need`), so each test creates only what it uses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import openai

from nodes.openai.emulator import DEMO_ASSISTANT_ID
from nodes.openai.emulator._media import speech

WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"flowwire-webhook-test-secret-012").decode()
USER = {"role": "user", "content": "hello"}
FILE_TEXT = "Returns are accepted within 30 days of delivery."

Need = Callable[[str], Awaitable[Any]]
Setup = Callable[[openai.AsyncOpenAI, Need, Path], Awaitable[Any]]


def _webhook(secret: str = WEBHOOK_SECRET) -> dict[str, Any]:
    """A webhook delivery signed the Standard Webhooks way (what OpenAI sends)."""
    body = json.dumps({"id": "evt_abc123", "object": "event", "type": "response.completed",
                       "created_at": int(time.time()), "data": {"id": "resp_abc123"}})
    msg_id, stamp = "msg_abc123", str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{stamp}.{body}".encode(), hashlib.sha256).digest()).decode()
    return {"payload": body, "headers": {"webhook-id": msg_id, "webhook-timestamp": stamp,
                                         "webhook-signature": f"v1,{signature}"}, "secret": secret}


async def _signed(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> dict[str, Any]:
    return _webhook()  # signed now: the SDK refuses deliveries older than five minutes


async def _file(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.files.create(file=("policy.txt", FILE_TEXT.encode()), purpose="assistants")).id


async def _text_path(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    path = tmp / "policy.txt"
    path.write_text(FILE_TEXT)
    return str(path)


async def _wav_path(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    path = tmp / "hello.wav"
    path.write_bytes(speech("hello from a file"))
    return str(path)


async def _png_path(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    path = tmp / "pixel.png"
    path.write_bytes(base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="))
    return str(path)


async def _vector_store(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.vector_stores.create(name="kb", file_ids=[await need("file")])).id


async def _file_batch(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.vector_stores.file_batches.create(await need("vector_store"), file_ids=[await need("file")])).id


async def _chat(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.chat.completions.create(model="gpt-4o-mini", messages=[USER], store=True)).id  # type: ignore[list-item]


async def _response(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.responses.create(model="gpt-4o-mini", input="hello")).id


async def _conversation(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.conversations.create(items=[{"type": "message", "role": "user", "content": "hi"}])).id


async def _item(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.conversations.items.list(await need("conversation"))).data[0].id  # type: ignore[union-attr]


async def _batch(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.batches.create(input_file_id=await need("file"), endpoint="/v1/chat/completions",
                                   completion_window="24h")).id


async def _job(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=await need("file"))).id


async def _container(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.containers.create(name="sandbox")).id


async def _container_file(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.containers.files.create(await need("container"), file=("data.csv", b"a,b\n1,2\n"))).id


async def _eval(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.evals.create(**PAYLOADS["createEval"])).id


async def _eval_run(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    run = PAYLOADS["createEvalRun"]
    return (await c.evals.runs.create(await need("eval"), data_source=run["data_source"])).id


async def _upload(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.uploads.create(filename="big.txt", purpose="assistants", bytes=11, mime_type="text/plain")).id


async def _part(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.uploads.parts.create(await need("upload"), data=b"hello world")).id


async def _skill(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.skills.create(files=[("SKILL.md", b"# Skill")])).id


async def _skill_version(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.skills.versions.create(await need("skill"), files=[("SKILL.md", b"# Skill v2")])).version


async def _video(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.videos.create(prompt="a paper boat")).id


async def _character(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.videos.create_character(name="Captain", video=("c.mp4", b"clip"))).id


async def _thread(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.beta.threads.create(messages=[USER])).id  # type: ignore[list-item]


async def _message(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.beta.threads.messages.list(await need("thread"))).data[0].id


async def _assistant(c: openai.AsyncOpenAI, need: Need, tmp: Path) -> str:
    return (await c.beta.assistants.create(model="gpt-4o", name="helper")).id


SETUP: dict[str, Setup] = {
    "file": _file, "text_path": _text_path, "wav_path": _wav_path, "png_path": _png_path,
    "vector_store": _vector_store, "file_batch": _file_batch, "chat": _chat, "response": _response,
    "conversation": _conversation, "item": _item, "batch": _batch, "job": _job, "container": _container,
    "container_file": _container_file, "eval": _eval, "eval_run": _eval_run, "upload": _upload, "part": _part,
    "skill": _skill, "skill_version": _skill_version, "video": _video, "character": _character, "thread": _thread, "message": _message,
    "assistant": _assistant, "webhook": _signed,
}

_EVAL = {"name": "tone", "data_source_config": {"type": "custom", "item_schema": {
    "type": "object", "properties": {"text": {"type": "string"}}}},
    "testing_criteria": [{"type": "string_check", "name": "polite", "input": "{{item.text}}",
                          "operation": "ilike", "reference": "%please%"}]}

PAYLOADS: dict[str, Any] = {
    # assistants, threads, messages (the runs are test_runs_node.py's)
    "createAssistant": {"model": "gpt-4o", "name": "helper"},
    "listAssistants": {"limit": 5},
    "getAssistant": {"assistant_id": DEMO_ASSISTANT_ID},
    "modifyAssistant": {"assistant_id": "{assistant}", "instructions": "Be brief."},
    "deleteAssistant": {"assistant_id": "{assistant}"},
    "createThread": {"messages": [USER]},
    "getThread": {"thread_id": "{thread}"},
    "modifyThread": {"thread_id": "{thread}", "metadata": {"k": "v"}},
    "deleteThread": {"thread_id": "{thread}"},
    "listMessages": {"thread_id": "{thread}"},
    "createMessage": {"thread_id": "{thread}", "role": "user", "content": "more"},
    "getMessage": {"thread_id": "{thread}", "message_id": "{message}"},
    "modifyMessage": {"thread_id": "{thread}", "message_id": "{message}", "metadata": {"k": "v"}},
    "deleteMessage": {"thread_id": "{thread}", "message_id": "{message}"},
    # audio
    "createSpeech": {"model": "gpt-4o-mini-tts", "voice": "alloy", "input": "hello", "response_format": "wav"},
    "createTranscription": {"model": "gpt-4o-transcribe", "file": "{wav_path}"},
    "createTranslation": {"model": "whisper-1", "file": "{wav_path}"},
    # batch
    "createBatch": {"input_file_id": "{file}", "endpoint": "/v1/chat/completions", "completion_window": "24h"},
    "retrieveBatch": {"batch_id": "{batch}"},
    "cancelBatch": {"batch_id": "{batch}"},
    "listBatch": {},
    # chat
    "createChatCompletion": {"model": "gpt-4o-mini", "messages": [USER]},
    "getChatCompletion": {"completion_id": "{chat}"},
    "getChatMessages": {"completion_id": "{chat}"},
    "listChatCompletions": {},
    "updateChatCompletion": {"completion_id": "{chat}", "metadata": {"topic": "greeting"}},
    "deleteChatCompletion": {"completion_id": "{chat}"},
    # containers and their files
    "listContainerFiles": {"container_id": "{container}"},
    "addContainerFile": {"container_id": "{container}", "file": {"filename": "data.csv", "content": "a,b\n1,2\n"}},
    "retrieveContainerFile": {"container_id": "{container}", "file_id": "{container_file}"},
    "deleteContainerFile": {"container_id": "{container}", "file_id": "{container_file}"},
    "downloadContainerFileContent": {"container_id": "{container}", "file_id": "{container_file}"},
    "listContainers": {},
    "createContainer": {"name": "sandbox"},
    "retrieveContainer": {"container_id": "{container}"},
    "deleteContainer": {"container_id": "{container}"},
    # embeddings, files
    "createEmbedding": {"model": "text-embedding-3-small", "input": "hello"},
    "listFiles": {},
    "createFile": {"file": "{text_path}", "purpose": "assistants"},
    "deleteFile": {"file_id": "{file}"},
    "retrieveFile": {"file_id": "{file}"},
    "downloadFile": {"file_id": "{file}"},
    # fine-tuning
    "createFineTuningJob": {"model": "gpt-4o-mini", "training_file": "{file}"},
    "listPaginatedFineTuningJobs": {},
    "retrieveFineTuningJob": {"fine_tuning_job_id": "{job}"},
    "listFineTuningEvents": {"fine_tuning_job_id": "{job}"},
    "listFineTuningCheckpoints": {"fine_tuning_job_id": "{job}"},
    "cancelFineTuningJob": {"fine_tuning_job_id": "{job}"},
    "pauseFineTuningJob": {"fine_tuning_job_id": "{job}"},
    "resumeFineTuningJob": {"fine_tuning_job_id": "{job}"},
    # images
    "createImage": {"prompt": "a lighthouse"},
    "createImageEdit": {"image": "{png_path}", "prompt": "add a boat"},
    "createImageVariation": {"image": {"type": "Buffer", "data": [137, 80, 78, 71, 13, 10, 26, 10]}},
    # models, moderations
    "listModels": {},
    "retrieveModel": {"model": "gpt-4o-mini"},
    "deleteModel": {"model": "ft:gpt-4o-mini:acme::abc123"},
    "createModeration": {"input": "hello"},
    # responses
    "createModelResponse": {"model": "gpt-4o-mini", "input": "hello"},
    "getModelResponse": {"response_id": "{response}"},
    "deleteModelResponse": {"response_id": "{response}"},
    "listInputItems": {"response_id": "{response}"},
    "parseModelResponse": {"model": "gpt-4o-mini", "input": "hello"},
    "streamModelResponse": {"model": "gpt-4o-mini", "input": "hello"},
    "cancelModelResponse": {"response_id": "{response}"},
    "compactModelResponse": {"model": "gpt-4o-mini", "input": "a long story"},
    "countInputTokens": {"model": "gpt-4o-mini", "input": "how many tokens"},
    # uploads
    "createUpload": {"filename": "big.txt", "purpose": "assistants", "bytes": 11, "mime_type": "text/plain"},
    "addUploadPart": {"upload_id": "{upload}", "data": {"filename": "part1", "content": "hello world"}},
    "completeUpload": {"upload_id": "{upload}", "part_ids": ["{part}"]},
    "cancelUpload": {"upload_id": "{upload}"},
    # vector stores, files, file batches
    "createVectorStore": {"name": "kb"},
    "listVectorStores": {},
    "retrieveVectorStore": {"vector_store_id": "{vector_store}"},
    "modifyVectorStore": {"vector_store_id": "{vector_store}", "name": "kb2"},
    "deleteVectorStore": {"vector_store_id": "{vector_store}"},
    "searchVectorStore": {"vector_store_id": "{vector_store}", "query": "returns accepted"},
    "createVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "listVectorStoreFiles": {"vector_store_id": "{vector_store}"},
    "retrieveVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "deleteVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "createAndPollVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "uploadVectorStoreFile": {"vector_store_id": "{vector_store}", "file": "{text_path}"},
    "uploadAndPollVectorStoreFile": {"vector_store_id": "{vector_store}", "file": "{text_path}"},
    "pollVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "modifyVectorStoreFile": {"vector_store_id": "{vector_store}", "file_id": "{file}", "attributes": {"lang": "en"}},
    "getVectorStoreFileContent": {"vector_store_id": "{vector_store}", "file_id": "{file}"},
    "createVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "file_ids": ["{file}"]},
    "retrieveVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "batch_id": "{file_batch}"},
    "cancelVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "batch_id": "{file_batch}"},
    "listVectorStoreBatchFiles": {"vector_store_id": "{vector_store}", "batch_id": "{file_batch}"},
    "uploadAndPollVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "files": ["{text_path}"]},
    "createAndPollVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "file_ids": ["{file}"]},
    "pollVectorStoreFileBatch": {"vector_store_id": "{vector_store}", "batch_id": "{file_batch}"},
    # chatkit (generic answers: no state to set up)
    "createChatKitSession": {"user": "user-42", "workflow": {"id": "wf_abc123"}},
    "cancelChatKitSession": {"session_id": "cksess_abc123"},
    "getChatKitThread": {"thread_id": "cthr_abc123"},
    "listChatKitThreads": {},
    "deleteChatKitThread": {"thread_id": "cthr_abc123"},
    "listChatKitThreadItems": {"thread_id": "cthr_abc123"},
    # conversations
    "createConversation": {"items": [{"type": "message", "role": "user", "content": "hi"}]},
    "getConversation": {"conversation_id": "{conversation}"},
    "modifyConversation": {"conversation_id": "{conversation}", "metadata": {"topic": "x"}},
    "deleteConversation": {"conversation_id": "{conversation}"},
    "createConversationItem": {"conversation_id": "{conversation}",
                               "items": [{"type": "message", "role": "user", "content": "more"}]},
    "getConversationItem": {"conversation_id": "{conversation}", "item_id": "{item}"},
    "listConversationItems": {"conversation_id": "{conversation}"},
    "deleteConversationItem": {"conversation_id": "{conversation}", "item_id": "{item}"},
    # evals
    "listEvals": {},
    "createEval": _EVAL,
    "getEval": {"eval_id": "{eval}"},
    "modifyEval": {"eval_id": "{eval}", "name": "tone v2"},
    "deleteEval": {"eval_id": "{eval}"},
    "listEvalRuns": {"eval_id": "{eval}"},
    "createEvalRun": {"eval_id": "{eval}", "data_source": {"type": "jsonl", "source": {
        "type": "file_content", "content": [{"item": {"text": "please help"}}]}}},
    "getEvalRun": {"eval_id": "{eval}", "run_id": "{eval_run}"},
    "cancelEvalRun": {"eval_id": "{eval}", "run_id": "{eval_run}"},
    "deleteEvalRun": {"eval_id": "{eval}", "run_id": "{eval_run}"},
    "listEvalRunOutputItems": {"eval_id": "{eval}", "run_id": "{eval_run}"},
    "getEvalRunOutputItem": {"eval_id": "{eval}", "run_id": "{eval_run}", "output_item_id": "outputitem_abc"},
    # realtime
    "createRealtimeClientSecret": {"session": {"type": "realtime", "model": "gpt-realtime"}},
    "acceptRealtimeCall": {"call_id": "rtc_abc123", "type": "realtime"},
    "hangupRealtimeCall": {"call_id": "rtc_abc123"},
    "referRealtimeCall": {"call_id": "rtc_abc123", "target_uri": "tel:+14155550123"},
    "rejectRealtimeCall": {"call_id": "rtc_abc123"},
    # skills
    "listSkills": {},
    "createSkill": {"files": [{"filename": "SKILL.md", "content": "# Skill"}]},
    "getSkill": {"skill_id": "{skill}"},
    "modifySkill": {"skill_id": "{skill}", "default_version": "1"},
    "deleteSkill": {"skill_id": "{skill}"},
    "getSkillContent": {"skill_id": "{skill}"},
    "listSkillVersions": {"skill_id": "{skill}"},
    "createSkillVersion": {"skill_id": "{skill}", "files": [{"filename": "SKILL.md", "content": "# v2"}]},
    "getSkillVersion": {"skill_id": "{skill}", "version": "{skill_version}"},
    "deleteSkillVersion": {"skill_id": "{skill}", "version": "{skill_version}"},
    "getSkillVersionContent": {"skill_id": "{skill}", "version": "{skill_version}"},
    # videos
    "listVideos": {},
    "createVideo": {"prompt": "a paper boat"},
    "getVideo": {"video_id": "{video}"},
    "deleteVideo": {"video_id": "{video}"},
    "createVideoCharacter": {"name": "Captain", "video": {"filename": "c.mp4", "content": "not really a video"}},
    "downloadVideoContent": {"video_id": "{video}"},
    "editVideo": {"prompt": "make it night", "video": {"filename": "v.mp4", "content": "not really a video"}},
    "extendVideo": {"prompt": "go on", "seconds": "4", "video": {"filename": "v.mp4", "content": "not a video"}},
    "getVideoCharacter": {"character_id": "{character}"},
    "remixVideo": {"video_id": "{video}", "prompt": "in watercolour"},
    # webhooks (local)
    "unwrapWebhookEvent": "{webhook}",
    "verifyWebhookSignature": "{webhook}",
}
