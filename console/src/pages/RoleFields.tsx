import { Group, TagsInput, TextInput } from "@mantine/core";
import { fieldError } from "../components/FormError.tsx";

/** A role's editable fields and their setters, as the new-role and the role's own form hold them. */
export interface RoleFieldsProps {
  name: string;
  setName: (name: string) => void;
  description: string;
  setDescription: (description: string) => void;
  permissions: string[];
  setPermissions: (permissions: string[]) => void;
  /** The last write's error: the server's field errors show under the input they name. */
  error: unknown;
}

/** Name, description and permissions of a role: one set of inputs for creating and for editing. */
export function RoleFields(props: RoleFieldsProps) {
  return (
    <Group align="flex-start" gap="xs" wrap="wrap">
      <TextInput
        label="Name"
        required
        value={props.name}
        onChange={(e) => props.setName(e.currentTarget.value)}
        error={fieldError(props.error, "body.name")}
      />
      <TextInput
        label="Description"
        value={props.description}
        onChange={(e) => props.setDescription(e.currentTarget.value)}
        error={fieldError(props.error, "body.description")}
      />
      <TagsInput
        label="Permissions"
        description="press Enter after each"
        value={props.permissions}
        onChange={props.setPermissions}
        error={fieldError(props.error, "body.permissions")}
        style={{ minWidth: 240 }}
      />
    </Group>
  );
}
