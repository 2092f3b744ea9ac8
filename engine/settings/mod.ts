/**
 * The admin console's settings model, pure: the catalog of what the browser can set, the
 * effective view (secrets masked, file-fixed keys), applying a partial change, and turning a
 * posted form into such a change.
 * @module
 */
export {
  EXCLUDED_PATHS,
  type FieldKind,
  type FieldOption,
  findField,
  findSection,
  isSecretKey,
  SECRET_PATHS,
  SECTION_IDS,
  sectionFields,
  type SectionId,
  SETTINGS_SECTIONS,
  type SettingsField,
  type SettingsGroup,
  type SettingsRemoval,
  type SettingsSection,
  type TargetType,
} from "./catalog.ts";
export {
  type FieldError,
  getPath,
  isSetSecret,
  sectionSummary,
  type SettingsView,
  settingsView,
} from "./view.ts";
export {
  applySettingsPatch,
  FIXED_MESSAGE,
  type PatchInput,
  type PatchOutcome,
  problemsToErrors,
  type SettingsChange,
} from "./patch.ts";
export {
  activeFields,
  boolMarker,
  clearMarker,
  formToPatch,
  type RuleRow,
  rulesFromForm,
} from "./form.ts";
