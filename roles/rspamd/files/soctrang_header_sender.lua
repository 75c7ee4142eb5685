--[[
Sóc Trăng mail: the header sender rule of submission (Điều 8.2.d, 12).

Postfix already makes the envelope sender (MAIL FROM) an address the login
owns or manages with send-as (smtpd_sender_login_maps, live from the
directory). This rule makes the headers agree with it: every address in From:
and Sender: must be the envelope sender, or the login itself when the envelope
is empty (<>). Then the header is owned by the login too, with no second map
of who may send as whom to keep in step. Mail without a login (port 25) is not
judged here.

Installed by roles/rspamd as /etc/rspamd/lua.local.d/soctrang_header_sender.lua.
]]

local rspamd_util = require "rspamd_util"
local rspamd_logger = require "rspamd_logger"

local SYMBOL = 'SOCTRANG_HEADER_SENDER_NOT_OWNED'
local HEADERS = { 'From', 'Sender' }

local function lower(s)
  return (s or ''):lower()
end

-- The addresses of every instance of a header (a message may carry several).
local function header_addresses(task, name)
  local found = {}
  for _, header in ipairs(task:get_header_full(name) or {}) do
    local parsed = rspamd_util.parse_mail_address(header.decoded or header.value or '', task:get_mempool())
    if not parsed or #parsed == 0 then
      -- Unparseable: treat as not owned, rather than let it through unchecked.
      table.insert(found, header.value or '')
    else
      for _, address in ipairs(parsed) do
        table.insert(found, lower(address.addr))
      end
    end
  end
  return found
end

local function allowed_address(task, login)
  local envelope = task:get_from('smtp')
  if envelope and envelope[1] and envelope[1].addr and envelope[1].addr ~= '' then
    return lower(envelope[1].addr)
  end
  return lower(login)
end

local function check_header_sender(task)
  local login = task:get_user()
  if not login then
    return false
  end
  local allowed = allowed_address(task, login)
  for _, name in ipairs(HEADERS) do
    for _, address in ipairs(header_addresses(task, name)) do
      if address ~= allowed then
        rspamd_logger.infox(task, '%s: %s: %s, login %s, envelope %s', SYMBOL, name, address, login, allowed)
        task:insert_result(SYMBOL, 1.0, name .. ': ' .. address)
        -- The milter reply puts "554 5.7.1" before this text; ASCII, as SMTP replies are.
        task:set_pre_result('reject', string.format(
          '<%s>: %s header rejected: not owned by user %s; write %s in %s: (Quy che 59/2024, Dieu 8, 12)',
          address, name, login, allowed, name), 'soctrang_header_sender')
        return true
      end
    end
  end
  return false
end

rspamd_config:register_symbol({
  name = SYMBOL,
  type = 'prefilter',
  priority = 10,
  callback = check_header_sender,
  description = 'From: or Sender: is not the sender the login may use',
  group = 'soctrang',
  score = 0.0,
})
