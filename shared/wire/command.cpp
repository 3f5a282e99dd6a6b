#include "shared/wire/command.h"

#include "shared/wire/topics.h"

#include <fmt/format.h>

namespace hale::wire {
namespace {
// Clocks across a fleet disagree a little; more than this is a forged or stale command.
constexpr int64_t kMaxClockSkewMs = 5 * 60 * 1000;
constexpr int64_t kMaxLifetimeMs = 24 * 60 * 60 * 1000;

Error refuse(std::string why) { return Error{std::move(why), 0}; }

flatbuffers::Offset<void> buildAction(flatbuffers::FlatBufferBuilder& fbb, const CommandAction& action, Action& type) {
  return std::visit(
      [&](const auto& a) -> flatbuffers::Offset<void> {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, ApproveAction>) {
          type = Action::ApproveRemediation;
          return CreateApproveRemediation(fbb, a.attempt_id).Union();
        } else if constexpr (std::is_same_v<T, TriggerAction>) {
          type = Action::TriggerRemediation;
          return CreateTriggerRemediation(fbb, fbb.CreateString(a.check)).Union();
        } else if constexpr (std::is_same_v<T, AutoRemediationAction>) {
          type = Action::SetAutoRemediation;
          return CreateSetAutoRemediation(fbb, a.enabled, fbb.CreateString(a.check)).Union();
        } else if constexpr (std::is_same_v<T, RegionRoleAction>) {
          type = Action::SetRegionRole;
          return CreateSetRegionRole(fbb, fbb.CreateString(a.region), a.role).Union();
        } else {
          type = Action::RunDrill;
          return CreateRunDrill(fbb, fbb.CreateString(a.check)).Union();
        }
      },
      action);
}

bool optionalIdOk(const flatbuffers::String* s) { return !s || s->size() == 0 || isValidId(s->string_view()); }

Result<CommandAction> readAction(const Command& cmd) {
  switch (cmd.action_type()) {
    case Action::ApproveRemediation:
      if (auto a = cmd.action_as_ApproveRemediation()) return CommandAction{ApproveAction{a->attempt_id()}};
      break;
    case Action::TriggerRemediation:
      if (auto a = cmd.action_as_TriggerRemediation(); a && a->check() && isValidId(a->check()->string_view()))
        return CommandAction{TriggerAction{a->check()->str()}};
      break;
    case Action::SetAutoRemediation:
      if (auto a = cmd.action_as_SetAutoRemediation(); a && optionalIdOk(a->check()))
        return CommandAction{AutoRemediationAction{a->enabled(), a->check() ? a->check()->str() : ""}};
      break;
    case Action::SetRegionRole:
      if (auto a = cmd.action_as_SetRegionRole(); a && a->region() && isValidId(a->region()->string_view()) &&
                                                  a->role() >= RegionRole::MIN && a->role() <= RegionRole::MAX)
        return CommandAction{RegionRoleAction{a->region()->str(), a->role()}};
      break;
    case Action::RunDrill:
      if (auto a = cmd.action_as_RunDrill(); a && optionalIdOk(a->check()))
        return CommandAction{DrillAction{a->check() ? a->check()->str() : ""}};
      break;
    default:
      break;
  }
  return refuse("unknown or malformed action");
}
}  // namespace

std::string_view actionName(const CommandAction& action) {
  static constexpr std::string_view kNames[] = {"approve", "trigger", "auto-remediation", "region-role", "drill"};
  return kNames[action.index()];
}

std::vector<uint8_t> buildSignedCommand(CommandSpec spec, const crypto::Key& key) {
  if (spec.nonce.empty()) spec.nonce = crypto::randomBytes(kNonceBytes);
  flatbuffers::FlatBufferBuilder inner(256);
  Action type = Action::NONE;
  auto action = buildAction(inner, spec.action, type);
  auto cmd =
      CreateCommand(inner, inner.CreateString(spec.target_region), inner.CreateString(spec.target_node), spec.epoch,
                    inner.CreateVector(spec.nonce), spec.issued_at_ms, spec.expires_at_ms, type, action);
  inner.Finish(cmd);
  const std::span<const uint8_t> body(inner.GetBufferPointer(), inner.GetSize());
  const auto signature = key.sign(body);

  flatbuffers::FlatBufferBuilder outer(512);
  auto signed_cmd = CreateSignedCommand(outer, outer.CreateVector(body.data(), body.size()),
                                        outer.CreateString(key.id()), outer.CreateVector(signature));
  FinishSignedCommandBuffer(outer, signed_cmd);
  return {outer.GetBufferPointer(), outer.GetBufferPointer() + outer.GetSize()};
}

Result<CommandSpec> verifyCommand(std::span<const uint8_t> bytes, std::span<const crypto::Key> keys,
                                  const std::string& node, const std::string& region, int64_t now_ms) {
  if (bytes.size() < 8 || bytes.size() > kMaxCommandBytes) return refuse("command size out of bounds");
  if (!SignedCommandBufferHasIdentifier(bytes.data())) return refuse("not a Hale command (file identifier)");
  flatbuffers::Verifier outer_verifier(bytes.data(), bytes.size());
  if (!VerifySignedCommandBuffer(outer_verifier)) return refuse("command failed FlatBuffers verification");
  const SignedCommand* sc = GetSignedCommand(bytes.data());
  if (!sc->command() || !sc->signature()) return refuse("command without body or signature");
  const std::span<const uint8_t> body(sc->command()->data(), sc->command()->size());
  const std::span<const uint8_t> sig(sc->signature()->data(), sc->signature()->size());
  bool signed_ok = false;
  for (const auto& key : keys) signed_ok = signed_ok || key.verify(body, sig);
  if (!signed_ok) return refuse("bad signature (no trusted key verifies it)");

  // Only now is the body parsed: the signer is trusted, but verify anyway.
  flatbuffers::Verifier inner_verifier(body.data(), body.size());
  if (!inner_verifier.VerifyBuffer<Command>(nullptr)) return refuse("signed body failed verification");
  const Command* cmd = flatbuffers::GetRoot<Command>(body.data());
  CommandSpec spec;
  spec.target_region = cmd->target_region() ? cmd->target_region()->str() : "";
  spec.target_node = cmd->target_node() ? cmd->target_node()->str() : "";
  spec.epoch = cmd->epoch();
  if (cmd->nonce()) spec.nonce.assign(cmd->nonce()->begin(), cmd->nonce()->end());
  spec.issued_at_ms = cmd->issued_at_ms();
  spec.expires_at_ms = cmd->expires_at_ms();
  if (spec.target_region != region)
    return refuse(fmt::format("command for region '{}', not '{}'", spec.target_region, region));
  if (!spec.target_node.empty() && spec.target_node != node)
    return refuse(fmt::format("command for node '{}', not '{}'", spec.target_node, node));
  if (spec.nonce.size() != kNonceBytes) return refuse("command nonce must be 16 bytes");
  if (spec.issued_at_ms > now_ms + kMaxClockSkewMs) return refuse("command issued in the future");
  if (spec.expires_at_ms <= now_ms) return refuse("command expired");
  if (spec.expires_at_ms - spec.issued_at_ms > kMaxLifetimeMs) return refuse("command lifetime over 24h");
  auto action = readAction(*cmd);
  if (!action) return action.error();
  spec.action = std::move(*action);
  return spec;
}

}  // namespace hale::wire
