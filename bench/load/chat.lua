-- POSTs OpenAI chat requests of 1, 2, 3 and 4 KB in turn: plain business prose, no PII, so every policy runs its
-- full scan and the request passes (the common case the added latency matters for).
local sentence = "Please summarise the quarterly planning notes and list the open questions for the platform team. "
local bodies = {}
for kb = 1, 4 do
  local text = string.rep(sentence, math.floor(kb * 1024 / #sentence))
  bodies[kb] = '{"model":"gpt-load","messages":[{"role":"system","content":"You are a concise assistant."},' ..
               '{"role":"user","content":"' .. text .. '"}]}'
end

local n = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

request = function()
  n = n + 1
  return wrk.format(nil, "/v1/chat/completions", nil, bodies[(n % 4) + 1])
end

local non2xx = 0
response = function(status, headers, body)
  if status ~= 200 then
    non2xx = non2xx + 1
  end
end
