-- Argo CD resource health check for hybridgateway.io/v1alpha1 HybridApi, MtlsDomain and
-- ClientCertRotation (all three use the same kstatus-style conditions: Ready, Reconciling, Stalled).
--
--   Healthy      Ready=True, status.observedGeneration == metadata.generation and, when the Ready
--                condition carries its own observedGeneration, that one too.
--   Degraded     Stalled=True for the current generation (message: the Stalled message, which says
--                what to fix in the spec).
--   Progressing  everything else: no status yet, generation not observed yet, Reconciling=True,
--                Ready=False/Unknown without Stalled.
--
-- Argo CD runs this with a global `obj` (the live object) and reads hs.status / hs.message.
-- Written for Lua 5.1 (gopher-lua, as embedded in Argo CD) and runs unchanged on Lua 5.4.
local hs = {}

local function find_condition(conditions, ctype)
  if type(conditions) ~= "table" then
    return nil
  end
  for _, c in ipairs(conditions) do
    if type(c) == "table" and c.type == ctype then
      return c
    end
  end
  return nil
end

local function is_true(c)
  return c ~= nil and c.status == "True"
end

-- A condition counts for the current generation when it does not say otherwise.
local function current(c, generation)
  if c == nil or generation == nil or type(c.observedGeneration) ~= "number" then
    return true
  end
  return c.observedGeneration == generation
end

local function message_of(c, fallback)
  if c ~= nil and type(c.message) == "string" and c.message ~= "" then
    return c.message
  end
  if c ~= nil and type(c.reason) == "string" and c.reason ~= "" then
    return c.reason
  end
  return fallback
end

local generation = nil
if type(obj) == "table" and type(obj.metadata) == "table" and type(obj.metadata.generation) == "number" then
  generation = obj.metadata.generation
end

local status = nil
if type(obj) == "table" and type(obj.status) == "table" then
  status = obj.status
end

if status == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to report status"
  return hs
end

if generation ~= nil and status.observedGeneration ~= generation then
  hs.status = "Progressing"
  if type(status.observedGeneration) == "number" then
    hs.message = "Waiting for the operator to observe generation " .. tostring(generation) ..
      " (observed " .. tostring(status.observedGeneration) .. ")"
  else
    hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  end
  return hs
end

local ready = find_condition(status.conditions, "Ready")
local reconciling = find_condition(status.conditions, "Reconciling")
local stalled = find_condition(status.conditions, "Stalled")

if is_true(stalled) and current(stalled, generation) then
  hs.status = "Degraded"
  hs.message = message_of(stalled, "Stalled")
  return hs
end

if is_true(ready) and current(ready, generation) then
  hs.status = "Healthy"
  hs.message = message_of(ready, "Ready")
  return hs
end

hs.status = "Progressing"
if is_true(reconciling) then
  hs.message = message_of(reconciling, "Reconciling")
elseif is_true(ready) then
  hs.message = "Waiting for the Ready condition to be updated for generation " .. tostring(generation)
else
  hs.message = message_of(ready, "Waiting for the Ready condition")
end
return hs
